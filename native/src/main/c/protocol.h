/*
 * protocol.h - the vocabulary of PROTOCOL.md: every frame type (the letter on the wire) and every
 * failure kind (the `kind=` of an ERROR). ProtocolVocabularyTest checks this file against
 * PROTOCOL.md's tables and the JVM's FrameType/FailureKind, both ways: keep one entry a line.
 */
#ifndef ISOLATED_PROTOCOL_H
#define ISOLATED_PROTOCOL_H

/* Requests (JVM -> helper): FRAME_<name of PROTOCOL.md, '-' as '_'> = 'letter'. */
enum request_type {
    FRAME_CREATE = 'C',
    FRAME_SPAWN = 'S',
    FRAME_STDIN = 'I',
    FRAME_STDIN_CLOSE = 'i',
    FRAME_SIGNAL = 'K',
    FRAME_UNAME = 'U',
    FRAME_SET_HOSTNAME = 'N',
    FRAME_FORWARD = 'F',
    FRAME_HOST_PORT = 'H',
    FRAME_WRITE = 'W',
    FRAME_WRITE_DATA = 'w',
    FRAME_READ = 'G',
    FRAME_CLOSE = 'X',
};

/* Replies and events (helper -> JVM). */
enum reply_type {
    FRAME_READY = 'h',
    FRAME_CREATED = 'c',
    FRAME_SPAWNED = 'p',
    FRAME_STDOUT = 'O',
    FRAME_STDERR = 'R',
    FRAME_EXITED = 'x',
    FRAME_STDIN_WRITTEN = 'r',
    FRAME_READ_DATA = 'g',
    FRAME_ENV_DIED = 'D',
    FRAME_ACK = 'a',
    FRAME_ERROR = 'E',
};

/* What kind of failure an ERROR reports (its `kind=`), see PROTOCOL.md, "Failure kinds". */
enum failure_kind {
    KIND_HOST,
    KIND_TEST,
    KIND_REQUEST,
};
#define FAILURE_KIND_NAMES { [KIND_HOST] = "host", [KIND_TEST] = "test", [KIND_REQUEST] = "request" }

#endif
