package dev.isolated.internal.env;

import dev.isolated.IsolatedProcess;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.Frame;
import dev.isolated.internal.helper.FrameType;
import dev.isolated.internal.helper.HelperConnection;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.BiConsumer;

/**
 * The open stdin of a spawned command: each write is sent to the helper as STDIN frames (at most
 * {@code chunk} bytes each), {@link #close()} as STDIN-CLOSE, the command's EOF. Unbuffered, so a
 * write reaches the command without a flush. Writing after the command exited, or closed its stdin, fails like a
 * broken pipe.
 *
 * <p>Flow control (native/PROTOCOL.md, Stdin flow control): the helper keeps what the command has not taken yet, and
 * reports with STDIN-WRITTEN what went into the command's pipe. {@link #write} keeps at most {@link #WINDOW} bytes
 * unreported, and waits beyond that until the command reads, exits or closes its stdin; an interrupt ends the wait.
 * So a command that reads nothing costs the helper that much memory, not all that is written to it.
 * {@link #writeAllAndClose} (a stdin given whole) does not wait: the JVM holds all of it already.
 */
final class StdinStream extends OutputStream implements BiConsumer<Object, Throwable> {
    /** How many bytes written, not yet in the command's pipe, a write leaves in the helper before it waits. */
    static final int WINDOW = 4 * 1024 * 1024;

    private final HelperConnection helper;
    private final int id;
    private final int chunk;
    private final IsolatedProcess process;
    private final Object writing = new Object(); // one write or close at a time: their frames are not interleaved
    private boolean closed; // guarded by writing
    private long unwritten; // guarded by this: sent, not yet reported written to the pipe
    private boolean pipeClosed; // guarded by this: the command closed its stdin; the helper drops what it gets

    StdinStream(HelperConnection helper, int id, int chunk, IsolatedProcess process) {
        this.helper = helper;
        this.id = id;
        this.chunk = chunk;
        this.process = process;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] data, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, data.length);
        synchronized (writing) {
            if (closed) {
                throw new IOException("The stdin of this process was closed");
            }
            awaitRoom(0, 0);
            for (int at = off; at < off + len; at += chunk) {
                int n = Math.min(off + len, at + chunk) - at;
                awaitRoom(n, at - off);
                send(Arrays.copyOfRange(data, at, at + n));
            }
        }
    }

    /** Waits until {@code n} more bytes keep the unreported ones within the window; fails when nothing reads. */
    private synchronized void awaitRoom(int n, int sentSoFar) throws IOException {
        while (true) {
            if (!process.isAlive()) {
                throw new IOException("The process has exited: nothing reads its stdin any more (broken pipe)");
            }
            if (pipeClosed) {
                // its stdin pipe broke: closed, or the process is dying (its EXITED may not be here yet)
                throw new IOException(
                        "The process closed its stdin or exited: nothing reads it any more (broken pipe)");
            }
            if (unwritten == 0 || unwritten + n <= WINDOW) {
                return;
            }
            try {
                wait(); // woken by STDIN-WRITTEN and by the exit (accept)
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                InterruptedIOException interrupted = new InterruptedIOException("Interrupted while waiting for "
                        + process.command() + " (host pid " + process.hostPid() + ") to read its stdin ("
                        + unwritten + " bytes written that it has not read); it still runs (kill() stops it, as "
                        + "closing its environment does)");
                interrupted.bytesTransferred = sentSoFar;
                interrupted.initCause(e);
                throw interrupted;
            }
        }
    }

    private void send(byte[] data) {
        synchronized (this) {
            unwritten += data.length;
        }
        helper.send(new Frame(FrameType.STDIN, id, data));
    }

    /** Sends all of DATA, then EOF; stops early (silently) when the command exits meanwhile. */
    void writeAllAndClose(byte[] data) {
        synchronized (writing) {
            for (int at = 0; at < data.length && process.isAlive(); at += chunk) {
                send(Arrays.copyOfRange(data, at, Math.min(data.length, at + chunk)));
            }
            close();
        }
    }

    /** STDIN-WRITTEN: {@code bytes=N} more went into the command's pipe; {@code closed=true}: it closed its stdin. */
    synchronized void written(Fields fields) {
        unwritten -= Long.parseLong(fields.get("bytes").orElse("0"));
        pipeClosed |= fields.getOrEmpty("closed").equals("true");
        notifyAll();
    }

    /** The process exited (or the helper is gone): a waiting write ends. */
    @Override
    public synchronized void accept(Object result, Throwable failure) {
        notifyAll();
    }

    @Override
    public void close() {
        synchronized (writing) {
            if (!closed) {
                closed = true;
                helper.send(new Frame(FrameType.STDIN_CLOSE, id, new byte[0]));
            }
        }
    }
}
