package dev.isolated.internal.helper;

import java.util.Optional;

/**
 * Every frame type of native/PROTOCOL.md: its letter on the wire, its name there and its direction. The
 * helper's {@code protocol.h} has the same list; {@code ProtocolVocabularyTests} checks both against the
 * document's tables.
 */
public enum FrameType {
    CREATE('C', Direction.REQUEST),
    SPAWN('S', Direction.REQUEST),
    STDIN('I', Direction.REQUEST),
    STDIN_CLOSE('i', Direction.REQUEST),
    SIGNAL('K', Direction.REQUEST),
    UNAME('U', Direction.REQUEST),
    SET_HOSTNAME('N', Direction.REQUEST),
    FORWARD('F', Direction.REQUEST),
    HOST_PORT('H', Direction.REQUEST),
    WRITE('W', Direction.REQUEST),
    WRITE_DATA('w', Direction.REQUEST),
    READ('G', Direction.REQUEST),
    CLOSE('X', Direction.REQUEST),
    READY('h', Direction.REPLY),
    CREATED('c', Direction.REPLY),
    SPAWNED('p', Direction.REPLY),
    STDOUT('O', Direction.REPLY),
    STDERR('R', Direction.REPLY),
    EXITED('x', Direction.REPLY),
    STDIN_WRITTEN('r', Direction.REPLY),
    READ_DATA('g', Direction.REPLY),
    ENV_DIED('D', Direction.REPLY),
    ACK('a', Direction.REPLY),
    ERROR('E', Direction.REPLY);

    /** Who sends a frame type. */
    public enum Direction {
        /** JVM to helper. */
        REQUEST,
        /** Helper to JVM: replies and events. */
        REPLY
    }

    private final char letter;
    private final Direction direction;

    FrameType(char letter, Direction direction) {
        this.letter = letter;
        this.direction = direction;
    }

    /** @return the type's byte on the wire, an ASCII letter */
    public char letter() {
        return letter;
    }

    /** @return who sends it */
    public Direction direction() {
        return direction;
    }

    /** @return the name PROTOCOL.md gives it, e.g. {@code STDIN-CLOSE} */
    public String protocolName() {
        return name().replace('_', '-');
    }

    /**
     * @param letter a type byte read from the wire
     * @return the frame type it stands for, empty when PROTOCOL.md has none
     */
    public static Optional<FrameType> ofLetter(char letter) {
        for (FrameType type : values()) {
            if (type.letter == letter) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return protocolName() + " '" + letter + "'";
    }
}
