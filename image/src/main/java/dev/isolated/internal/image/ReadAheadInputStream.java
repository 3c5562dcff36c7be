package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads its source on a thread of its own, a few chunks ahead of the reader, so that decompressing
 * (and digesting) a layer runs on one core while the entries are written on another, as {@code tar -xzf}
 * runs {@code gzip -d} beside it. The reader sees the same bytes, end and {@link IOException} (the
 * source's own exception object) as from the source itself.
 *
 * <p>{@link #close()} stops the thread and waits for it, so the source is never read again once this is
 * closed: the caller may read the rest itself. The thread is never interrupted (an interrupted read of a
 * {@code FileChannel} would close the caller's file); it notices the close within a poll.
 */
final class ReadAheadInputStream extends InputStream {

    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS_AHEAD = 16;
    private static final long POLL_MILLIS = 50;
    private static final byte[] END = new byte[0];

    private final BlockingQueue<Object> chunks = new ArrayBlockingQueue<>(CHUNKS_AHEAD);
    private final Thread thread;
    private volatile boolean closed;
    private byte[] current = new byte[0];
    private int position;
    private boolean ended;
    private IOException failure;

    /**
     * Starts reading {@code source}, which stays the caller's to close.
     *
     * @param name names the thread
     */
    ReadAheadInputStream(InputStream source, String name) {
        this.thread = new Thread(() -> fill(source), name);
        thread.setDaemon(true);
        thread.start();
    }

    private void fill(InputStream source) {
        Object last;
        try {
            while (true) {
                byte[] chunk = new byte[CHUNK];
                int read = source.read(chunk, 0, CHUNK); // one read, so no byte read before a failure is lost
                if (read < 0) {
                    last = END;
                    break;
                }
                if (read > 0 && !put(read == CHUNK ? chunk : java.util.Arrays.copyOf(chunk, read))) {
                    return;
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            last = e;
        }
        put(last);
    }

    /** Hands {@code item} to the reader; {@code false} if the stream was closed meanwhile. */
    private boolean put(Object item) {
        try {
            while (!closed) {
                if (chunks.offer(item, POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            }
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public int read() throws IOException {
        return hasBytes() ? current[position++] & 0xff : -1;
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
        java.util.Objects.checkFromIndexSize(offset, length, buffer.length);
        if (length == 0) {
            return 0;
        }
        if (!hasBytes()) {
            return -1;
        }
        int n = Math.min(length, current.length - position);
        System.arraycopy(current, position, buffer, offset, n);
        position += n;
        return n;
    }

    /** Whether bytes are at hand in {@link #current}, waiting for the next chunk if needed. */
    private boolean hasBytes() throws IOException {
        if (closed) {
            throw new IOException("Stream closed");
        }
        if (position < current.length) {
            return true;
        }
        if (failure != null) {
            throw failure;
        }
        if (ended) {
            return false;
        }
        Object next;
        try {
            next = chunks.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while reading ahead");
        }
        if (next == END) {
            ended = true;
            return false;
        }
        if (next instanceof IOException e) {
            failure = e;
            throw e;
        }
        if (next instanceof RuntimeException e) {
            throw e;
        }
        if (next instanceof Error e) {
            throw e;
        }
        current = (byte[]) next;
        position = 0;
        return true;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        chunks.clear(); // frees a thread waiting to put
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
