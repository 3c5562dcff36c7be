package dev.isolated.internal.env;

import dev.isolated.internal.helper.Frame;
import dev.isolated.internal.helper.FrameType;
import dev.isolated.internal.helper.HelperConnection;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * The open stdin of a spawned command: each write is sent to the helper as STDIN frames (at most
 * {@code chunk} bytes each), {@link #close()} as STDIN-CLOSE, the command's EOF. Unbuffered, so a
 * write reaches the command without a flush. Writing after the command exited fails like a broken pipe.
 */
final class StdinStream extends OutputStream {
    private final HelperConnection helper;
    private final int id;
    private final int chunk;
    private final BooleanSupplier exited;
    private boolean closed;

    StdinStream(HelperConnection helper, int id, int chunk, BooleanSupplier exited) {
        this.helper = helper;
        this.id = id;
        this.chunk = chunk;
        this.exited = exited;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] data, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, data.length);
        if (closed) {
            throw new IOException("The stdin of this process was closed");
        }
        if (exited.getAsBoolean()) {
            throw new IOException("The process has exited: nothing reads its stdin any more (broken pipe)");
        }
        for (int at = off; at < off + len; at += chunk) {
            helper.send(new Frame(FrameType.STDIN, id, Arrays.copyOfRange(data, at, Math.min(off + len, at + chunk))));
        }
    }

    /** Sends all of DATA, then EOF; stops early (silently) when the command exits meanwhile. */
    synchronized void writeAllAndClose(byte[] data) {
        for (int at = 0; at < data.length && !exited.getAsBoolean(); at += chunk) {
            helper.send(
                    new Frame(FrameType.STDIN, id, Arrays.copyOfRange(data, at, Math.min(data.length, at + chunk))));
        }
        close();
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            helper.send(new Frame(FrameType.STDIN_CLOSE, id, new byte[0]));
        }
    }
}
