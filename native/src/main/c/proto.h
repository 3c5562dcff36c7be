/*
 * proto.h - the frames of PROTOCOL.md: u32 length, u8 type, u32 id, payload (big-endian).
 */
#ifndef ISOLATED_PROTO_H
#define ISOLATED_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"
#include "util.h"

#define FRAME_MAX (1u << 20)

struct frame {
    uint8_t type;
    uint32_t id;
    char *payload; /* malloc'ed, NUL-terminated for convenience; len excludes it */
    size_t len;
};

struct frame_reader {
    char *buf;
    size_t len, cap;
    size_t skip; /* bytes of an oversized frame still to discard */
};

/* One read() of what is available; returns bytes read, 0 on EOF, -1 on error. */
ssize_t reader_fill(struct frame_reader *r, int fd);
/* 1: *out is the next whole frame; 0: need more bytes; 2: the next frame is over FRAME_MAX:
 * *out has its type, id and len but no payload (NULL), its bytes are being discarded;
 * -1: malformed (length < 5: the framing is lost). */
int reader_next(struct frame_reader *r, struct frame *out);

/* A record payload: NUL-terminated `key=value` strings; keys may repeat. */
struct record {
    size_t count;
    char **keys;
    char **values;
};
void record_parse(struct frame *frame, struct record *rec);
const char *record_get(const struct record *rec, const char *key);
/* The values of every `key`, NULL-terminated (malloc'ed array, values borrowed). */
char **record_all(const struct record *rec, const char *key, size_t *count);
void record_free(struct record *rec);

struct record_builder {
    char *data;
    size_t len, cap;
};
void record_add(struct record_builder *rb, const char *key, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Blocking writes to the JVM; a broken pipe is remembered (the server then shuts down). */
struct writer {
    int fd;
    bool broken;
};
void send_frame(struct writer *w, enum reply_type type, uint32_t id, const void *data, size_t len);
void send_record(struct writer *w, enum reply_type type, uint32_t id, struct record_builder *rb);
/* An ERROR for request ID: the failure's fields and its kind (failure_kind()). */
void send_failure(struct writer *w, uint32_t id, const struct failure *f);
/* An ERROR with stage=request, kind=request: the request could not be parsed or names an unknown id. */
void send_request_error(struct writer *w, uint32_t id, int err, const char *what);
/* Whether the host cannot do what failed (KIND_HOST) or it is the test's request (KIND_TEST),
 * from the stage and errno: the stages that need a kernel feature or a permission of the host. */
enum failure_kind failure_kind(const struct failure *f);
const char *failure_kind_name(enum failure_kind kind);

#endif
