package dev.isolated.internal.helper;

import dev.isolated.IsolatedException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The JVM's end of one resident {@code isolated-helper serve} process: frames out on its stdin, frames
 * in on its stdout (read by one daemon thread), free text on its stderr (kept for error messages).
 * When the JVM dies, the helper sees EOF on its stdin and kills every environment (native/PROTOCOL.md).
 */
public final class HelperConnection implements AutoCloseable {
    private static final int STDERR_TAIL_LINES = 40;

    private final Process process;
    private final Path binary;
    private final DataOutputStream out;
    private final Map<Integer, FrameListener> listeners = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger(1);
    private final Deque<String> stderrTail = new ArrayDeque<>();
    private final CompletableFuture<Fields> ready = new CompletableFuture<>();
    private volatile IsolatedException gone;
    private final CompletableFuture<IsolatedException> goneReason = new CompletableFuture<>();
    private final CompletableFuture<Void> stderrRead = new CompletableFuture<>();

    private HelperConnection(Process process, Path binary) {
        this.process = process;
        this.binary = binary;
        this.out = new DataOutputStream(new BufferedOutputStream(process.getOutputStream(), 64 * 1024));
    }

    /**
     * Starts a helper and waits for its READY frame.
     *
     * @param binary the helper executable
     * @param stateDir an empty directory the helper may use for mount points; it removes it on exit
     * @return the connection
     */
    public static HelperConnection start(Path binary, Path stateDir) {
        ProcessBuilder pb = new ProcessBuilder(binary.toString(), "serve", "--state-dir", stateDir.toString());
        HelperConnection conn = new HelperConnection(startRetryingTextBusy(pb, binary), binary);
        conn.startThreads();
        try {
            conn.awaitReady();
        } catch (Exception e) {
            conn.process.destroyForcibly();
            throw new IsolatedException(
                    "The isolated helper " + binary + " did not start: " + e.getMessage() + conn.stderrText(), e);
        }
        return conn;
    }

    /**
     * Waits up to 30 s for READY, on through interrupts: a helper starts in milliseconds, and one killed half-started
     * would leave its state directory and locks for the next helper to sweep. The interrupt is kept, set again on
     * return, for the caller's next wait (creating the environment) to report.
     */
    private void awaitReady() throws ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    ready.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // A freshly extracted executable may still be open for writing in a child forked by another thread
    // at that moment (ETXTBSY, "error=26"); it goes away as soon as that child execs.
    private static Process startRetryingTextBusy(ProcessBuilder pb, Path binary) {
        for (int attempt = 1; ; attempt++) {
            try {
                return pb.start();
            } catch (IOException e) {
                if (attempt >= 10 || e.getMessage() == null || !e.getMessage().contains("error=26")) {
                    throw new IsolatedException(
                            "Cannot start the isolated helper " + binary + ": " + e.getMessage(), e);
                }
                try {
                    Thread.sleep(10L * attempt);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new IsolatedException("Interrupted while starting the isolated helper", ie);
                }
            }
        }
    }

    private void startThreads() {
        Thread reader = new Thread(new Reader(true), "isolated-helper-reader-" + process.pid());
        reader.setDaemon(true);
        reader.start();
        Thread errors = new Thread(new Reader(false), "isolated-helper-stderr-" + process.pid());
        errors.setDaemon(true);
        errors.start();
    }

    /**
     * What the reader threads run: frames from the helper's stdout, or its stderr's lines. A class, not
     * {@code this::readFrames}: each lambda is a class spun at its first use, and this is the first test's path.
     */
    private final class Reader implements Runnable {
        private final boolean frames;

        Reader(boolean frames) {
            this.frames = frames;
        }

        @Override
        public void run() {
            if (frames) {
                readFrames();
            } else {
                readStderr();
            }
        }
    }

    /** @return the helper executable, for command lines such as {@code isolated-helper enter} */
    public Path binary() {
        return binary;
    }

    /** @return the helper's pid */
    public long pid() {
        return process.pid();
    }

    /** @return whether the helper is still serving */
    public boolean isAlive() {
        return gone == null && process.isAlive();
    }

    /** @return a fresh id for a request, environment or process */
    public int newId() {
        return ids.getAndIncrement();
    }

    /**
     * Registers the listener for frames with {@code id}; register before sending the request.
     *
     * @param id the id
     * @param listener the listener
     */
    public void listen(int id, FrameListener listener) {
        listeners.put(id, listener);
        IsolatedException reason = gone;
        if (reason != null && listeners.remove(id) != null) {
            listener.onHelperGone(reason);
        }
    }

    /**
     * Removes the listener for {@code id}.
     *
     * @param id the id
     */
    public void unlisten(int id) {
        listeners.remove(id);
    }

    /**
     * Sends a frame.
     *
     * @param frame the frame
     * @throws IsolatedException when the helper is gone
     * @throws IllegalArgumentException when the frame is larger than the helper accepts (nothing is sent)
     */
    public void send(Frame frame) {
        if (frame.length() > Frame.MAX_LENGTH) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "A request of %,d bytes exceeds the isolated " + "helper's limit of %,d bytes per request",
                    frame.length(),
                    Frame.MAX_LENGTH));
        }
        IsolatedException reason = gone;
        if (reason != null) {
            throw reason;
        }
        try {
            synchronized (out) {
                frame.writeTo(out);
                out.flush();
            }
        } catch (IOException e) {
            try { // it died: the reader thread is about to say how
                IsolatedException why = goneReason.get(5, TimeUnit.SECONDS);
                throw new IsolatedException(why.getMessage(), e);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException notYet) {
                // still running, yet not reading: say that
            }
            throw new IsolatedException(
                    "The isolated helper (pid " + process.pid() + ") stopped reading requests: " + e.getMessage()
                            + stderrText(),
                    e);
        }
    }

    /**
     * Sends a request and returns its reply: the fields of the ACK/CREATED, or an exceptionally
     * completed future with a {@link HelperErrorException} for an ERROR frame.
     *
     * @param type the request type, one answered by an ACK or an ERROR
     * @param fields the request's record
     * @return the reply's fields
     */
    public CompletableFuture<Fields> call(FrameType type, Fields fields) {
        return call(type, fields, null, new byte[0]);
    }

    /**
     * {@link #call(FrameType, Fields)} of a request that data frames follow (WRITE and its WRITE-DATA): they carry
     * {@code data} under the request's id, in as many frames as it takes, after it.
     *
     * @param type the request type
     * @param fields the request's record
     * @param dataType the type of the data frames
     * @param data the bytes they carry; none: no data frame
     * @return the reply's fields
     */
    public CompletableFuture<Fields> call(FrameType type, Fields fields, FrameType dataType, byte[] data) {
        return callSending(type, fields, dataType, new ArrayChunks(data));
    }

    /** An array's bytes in frames of at most {@link #MAX_DATA} (a class, not a lambda: see {@link Reader}). */
    private static final class ArrayChunks implements DataSource {
        private final byte[] data;
        private int at;

        ArrayChunks(byte[] data) {
            this.data = data;
        }

        @Override
        public byte[] next() {
            if (at >= data.length) {
                return null;
            }
            int from = at;
            at = Math.min(data.length, from + MAX_DATA);
            return Arrays.copyOfRange(data, from, at);
        }
    }

    /** Gives a request's data frames, on the caller's thread, one at a time. */
    public interface DataSource {
        /**
         * @return the next data frame's payload, at most {@link #MAX_DATA} bytes (sent before the next call, so the
         *     array may be reused then); null after the last
         * @throws IOException when no more can be given: the request is then ended by an empty data frame
         */
        byte[] next() throws IOException;
    }

    /** The most bytes a data frame carries. */
    public static final int MAX_DATA = Frame.MAX_PAYLOAD;

    /**
     * {@link #call(FrameType, Fields, FrameType, byte[])} with the data streamed from {@code data}, a frame at a time
     * (so the caller's memory stays bounded whatever the size): each frame is sent as {@code data} gives it, other
     * threads' frames may go between them. Once the reply came (an ERROR before the data ended), no more is taken.
     *
     * @param type the request type
     * @param fields the request's record
     * @param dataType the type of the data frames
     * @param data their payloads
     * @return the reply's fields; when {@code data} failed, an {@link java.io.UncheckedIOException} with its failure,
     *     once the helper answered the empty data frame that ended the request (for WRITE: its ERROR, no ACK)
     */
    public CompletableFuture<Fields> callSending(FrameType type, Fields fields, FrameType dataType, DataSource data) {
        if (type.direction() != FrameType.Direction.REQUEST) {
            throw new IllegalArgumentException(type + " is not a request");
        }
        int id = newId();
        CompletableFuture<Fields> reply = awaitReply(id, null, null);
        try {
            send(Frame.of(type, id, fields));
            while (!reply.isDone()) {
                byte[] payload;
                try {
                    payload = data.next();
                } catch (IOException e) {
                    send(new Frame(dataType, id, new byte[0]));
                    return reply.handle((ended, helperSaid) -> {
                        throw new UncheckedIOException(e);
                    });
                }
                if (payload == null) {
                    break;
                }
                send(new Frame(dataType, id, payload));
            }
        } catch (IsolatedException e) {
            unlisten(id);
            reply.completeExceptionally(e);
        } catch (IllegalArgumentException tooLarge) {
            unlisten(id);
            throw tooLarge;
        }
        return reply;
    }

    /** Takes the data frames of a request's reply, on the thread that reads the helper's frames. */
    public interface DataSink {
        /**
         * @param data the next data frame's payload
         * @throws IOException when it cannot be kept; the reply then fails with it, and later data is dropped
         */
        void accept(byte[] data) throws IOException;
    }

    /**
     * {@link #call(FrameType, Fields)} of a request whose reply data frames come before its ACK or ERROR (READ and
     * its READ-DATA): each goes to {@code sink} as it is read.
     *
     * @param type the request type
     * @param fields the request's record
     * @param dataType the type of the data frames
     * @param sink where their payloads go, in order
     * @return the ACK's fields; a sink's failure, an {@link java.io.UncheckedIOException}
     */
    public CompletableFuture<Fields> callReceiving(FrameType type, Fields fields, FrameType dataType, DataSink sink) {
        int id = newId();
        CompletableFuture<Fields> reply = awaitReply(id, dataType, sink);
        try {
            send(Frame.of(type, id, fields));
        } catch (IsolatedException e) {
            unlisten(id);
            reply.completeExceptionally(e);
        }
        return reply;
    }

    /** Listens for the reply to request ID: its data frames (of DATA_TYPE, when not null) go to SINK. */
    private CompletableFuture<Fields> awaitReply(int id, FrameType dataType, DataSink sink) {
        CompletableFuture<Fields> reply = new CompletableFuture<>();
        listen(id, new FrameListener() {
            private IOException failed;

            @Override
            public void onFrame(Frame frame) {
                if (dataType != null && frame.type() == dataType) {
                    try {
                        if (failed == null) {
                            sink.accept(frame.payload());
                        }
                    } catch (IOException e) {
                        failed = e;
                    }
                    return;
                }
                unlisten(id);
                if (frame.type() == FrameType.ERROR) {
                    reply.completeExceptionally(new HelperErrorException(frame.fields()));
                } else if (failed != null) {
                    reply.completeExceptionally(new UncheckedIOException(failed));
                } else {
                    reply.complete(frame.fields());
                }
            }

            @Override
            public void onHelperGone(IsolatedException reason) {
                reply.completeExceptionally(reason);
            }
        });
        return reply;
    }

    private void readFrames() {
        IsolatedException reason;
        Throwable failed = null;
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(process.getInputStream(), 64 * 1024))) {
            Frame frame;
            while ((frame = Frame.readFrom(in)) != null) {
                dispatch(frame);
            }
            awaitStderr();
            reason = new IsolatedException("The isolated helper (pid " + process.pid() + ") " + exitText()
                    + "; every environment it ran is gone (the next environment starts a new helper)" + stderrText());
        } catch (IOException | RuntimeException | Error e) {
            // An Error too (an OutOfMemoryError while a frame was handled): else this thread died silently, every
            // waiting caller hung until its timeout, and the helper, unread, ran on with its environments.
            stopHelper();
            awaitStderr();
            reason = new IsolatedException(
                    "Lost the connection to the isolated helper (pid " + process.pid() + "): " + e + stderrText(), e);
            failed = e;
        }
        gone = reason;
        goneReason.complete(reason);
        ready.completeExceptionally(reason);
        List<FrameListener> orphans = new ArrayList<>(listeners.values());
        listeners.clear();
        for (FrameListener listener : orphans) {
            listener.onHelperGone(reason);
        }
        if (failed instanceof Error error) {
            throw error; // the thread's end, reported as any uncaught Error is
        }
    }

    /**
     * The connection is lost while the helper may still run: closing its stdin is what a JVM's exit does, so it kills
     * every environment it ran and exits, instead of living on unread until the JVM's exit.
     */
    private void stopHelper() {
        try {
            synchronized (out) {
                out.close();
            }
        } catch (IOException alreadyClosed) {
            // it is gone already
        }
    }

    private void dispatch(Frame frame) {
        if (frame.type() == FrameType.READY) {
            ready.complete(frame.fields());
            return;
        }
        FrameListener listener = listeners.get(frame.id());
        if (listener != null) {
            listener.onFrame(frame);
        }
    }

    // The helper exits only with 0 (stdin EOF) or 125 (setup failed), so a status over 128 is 128 + a signal,
    // as java.lang.Process reports a death by signal.
    private String exitText() {
        try {
            if (process.waitFor(2, TimeUnit.SECONDS)) {
                int status = process.exitValue();
                return status > 128 && status < 128 + 65
                        ? "died: killed by signal " + (status - 128) + signalName(status - 128)
                        : "exited with code " + status;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "closed its stdout";
    }

    private static String signalName(int signal) {
        return switch (signal) {
            case 6 -> " (SIGABRT)";
            case 9 -> " (SIGKILL: killed from outside, e.g. kill -9 or the OOM killer)";
            case 11 -> " (SIGSEGV: a crash)";
            case 15 -> " (SIGTERM)";
            default -> "";
        };
    }

    private void readStderr() {
        try (BufferedReader r =
                new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                synchronized (stderrTail) {
                    stderrTail.addLast(line);
                    if (stderrTail.size() > STDERR_TAIL_LINES) {
                        stderrTail.removeFirst();
                    }
                }
                System.err.println("[isolated-helper] " + line);
            }
        } catch (IOException e) {
            // The helper's stderr closes when it exits; nothing more to read.
        } finally {
            stderrRead.complete(null);
        }
    }

    /**
     * Waits (at most 2 s) until the helper's stderr is read to its end, so that a helper that died says why: its last
     * lines (the failed step and its hint) are often written just before its stdout closes.
     */
    private void awaitStderr() {
        // A future, not Thread.join: under load the stderr thread may not have started yet, and join() on a
        // thread not yet alive returns at once (then the caller destroyed the process and the lines were lost).
        try {
            stderrRead.get(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Said without the tail: a grandchild may hold the helper's stderr open.
        }
    }

    String stderrText() {
        synchronized (stderrTail) {
            return stderrTail.isEmpty() ? "" : "\nHelper stderr:\n  " + String.join("\n  ", stderrTail);
        }
    }

    /**
     * Closes the helper's stdin, which makes it kill every environment and exit; waits briefly for that.
     */
    @Override
    public void close() {
        try {
            synchronized (out) {
                out.close();
            }
        } catch (IOException e) {
            // Already closed because the helper is gone: nothing to tell it.
        }
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
