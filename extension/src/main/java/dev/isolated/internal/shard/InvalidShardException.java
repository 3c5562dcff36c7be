package dev.isolated.internal.shard;

/** Sharding is configured in a way that names no shard: the message names the key or variable and the fix. */
public final class InvalidShardException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    InvalidShardException(String message) {
        super(message);
    }

    InvalidShardException(String message, Throwable cause) {
        super(message, cause);
    }
}
