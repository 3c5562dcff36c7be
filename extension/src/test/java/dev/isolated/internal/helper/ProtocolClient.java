package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.CREATE;
import static dev.isolated.internal.helper.FrameType.CREATED;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.EXITED;
import static dev.isolated.internal.helper.FrameType.READY;
import static dev.isolated.internal.helper.FrameType.STDERR;
import static dev.isolated.internal.helper.FrameType.STDOUT;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The JVM side of native/PROTOCOL.md, reduced to what the tests need: an {@code isolated-helper serve}
 * spoken to in the production {@link Frame}s and {@link Fields}. Reads are raw: each frame as it comes
 * ({@link Conversation} sorts the frames of several running processes).
 */
final class ProtocolClient implements AutoCloseable {

    /**
     * How long a read waits for the helper's next frame (each takes well under a second): past it the answer is lost,
     * the helper is killed and the read fails naming what was asked, instead of blocking the test forever.
     */
    static final long READ_TIMEOUT_SECONDS = 30;

    /** Kills a helper whose answer is lost; a read's timer is dropped as soon as its frame came. */
    private static final ScheduledThreadPoolExecutor WATCHDOG = new ScheduledThreadPoolExecutor(1, task -> {
        Thread thread = new Thread(task, "protocol-client-read-timeout");
        thread.setDaemon(true);
        return thread;
    });

    static {
        WATCHDOG.setRemoveOnCancelPolicy(true);
    }

    private final Process process;

    /** The last request sent, for a read that times out: {@code type#id}. */
    private String lastRequest = "(none yet: READY)";

    private final DataOutputStream out;

    private final DataInputStream in;

    /**
     * Starts the helper on a state dir (created here) and checks its READY.
     *
     * @param stateDir the {@code --state-dir}
     */
    ProtocolClient(Path stateDir) throws IOException {
        this(stateDir, List.of(HelperPaths.helper().toString()));
    }

    /**
     * Starts the helper through a command of its own, e.g. as another user, and checks its READY.
     *
     * @param stateDir the {@code --state-dir} (created here when missing)
     * @param helperCommand the helper's path, maybe after a prefix such as {@code setpriv ...}; {@code serve
     *     --state-dir DIR} is appended
     */
    ProtocolClient(Path stateDir, List<String> helperCommand) throws IOException {
        Files.createDirectories(stateDir);
        List<String> command = new ArrayList<>(helperCommand);
        command.addAll(List.of("serve", "--state-dir", stateDir.toString()));
        process = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        out = new DataOutputStream(process.getOutputStream());
        in = new DataInputStream(process.getInputStream());
        assertThat(read()).hasType(READY).fields().containsKeys("version", "pid");
    }

    /** @return the helper's process */
    Process process() {
        return process;
    }

    /**
     * Sends a request without waiting for anything.
     *
     * @param fields the record, each {@code key=value}
     */
    void send(FrameType type, int id, String... fields) throws IOException {
        Fields record = Fields.of();
        for (String field : fields) {
            int eq = field.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("not key=value: " + field);
            }
            record.add(field.substring(0, eq), field.substring(eq + 1));
        }
        lastRequest = type + "#" + id;
        Frame.of(type, id, record).writeTo(out);
        out.flush();
    }

    /** Sends a frame with any type byte, also one PROTOCOL.md does not have. */
    void sendRaw(char letter, int id, byte[] payload) throws IOException {
        out.writeInt(5 + payload.length);
        out.writeByte(letter);
        out.writeInt(id);
        out.write(payload);
        out.flush();
    }

    /**
     * Sends a request and reads the next frame: its reply unless events of running processes come first.
     *
     * @param fields the record, each {@code key=value}
     */
    Frame request(FrameType type, int id, String... fields) throws IOException {
        send(type, id, fields);
        return read();
    }

    /**
     * CREATEs an environment, which must succeed.
     *
     * @param fields the record, each {@code key=value}, {@code rootfs=} among them
     * @return the CREATED record
     */
    Fields create(int id, String... fields) throws IOException {
        Frame created = request(CREATE, id, fields);
        assertThat(created).hasType(CREATED);
        return created.fields();
    }

    /** @return the next frame; at the end of the helper's stdout, an EOFException */
    Frame read() throws IOException {
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> kill = WATCHDOG.schedule(
                () -> {
                    timedOut.set(true);
                    process.destroyForcibly(); // ends the blocked read with EOF
                },
                READ_TIMEOUT_SECONDS,
                TimeUnit.SECONDS);
        Frame frame;
        try {
            frame = Frame.readFrom(in);
        } catch (IOException e) {
            if (timedOut.get()) {
                throw noAnswer(e);
            }
            throw e;
        } finally {
            kill.cancel(false);
        }
        if (frame == null && timedOut.get()) {
            throw noAnswer(null);
        }
        if (frame == null) {
            throw new EOFException("the helper closed its stdout");
        }
        return frame;
    }

    private AssertionError noAnswer(IOException cause) {
        return new AssertionError(
                "the helper (pid " + process.pid() + ") sent no frame for " + READ_TIMEOUT_SECONDS
                        + " s after the request " + lastRequest
                        + ": killed it, so that the test fails instead of hanging",
                cause);
    }

    /** @return whether a frame can be read without blocking (at least its first bytes arrived) */
    boolean hasFrameWaiting() throws IOException {
        return in.available() > 0;
    }

    /** Reads frames (dropping others) until the given one. */
    Frame readUntil(FrameType type, int id) throws IOException {
        for (Frame frame; ; ) {
            if ((frame = read()).type() == type && frame.id() == id) {
                return frame;
            }
        }
    }

    /**
     * How a spawned process ended.
     *
     * @param fields the EXITED record
     * @param stdout its STDOUT frames, decoded
     * @param stderr its STDERR frames, decoded
     */
    record Exit(Fields fields, String stdout, String stderr) {}

    /** Reads the output of proc id until its EXITED, dropping other frames; fails on any ERROR. */
    Exit awaitExit(int id) throws IOException {
        StringBuilder stdout = new StringBuilder();
        StringBuilder stderr = new StringBuilder();
        for (Frame frame; ; ) {
            frame = read();
            if (frame.type() == STDOUT && frame.id() == id) {
                stdout.append(new String(frame.payload(), UTF_8));
            } else if (frame.type() == STDERR && frame.id() == id) {
                stderr.append(new String(frame.payload(), UTF_8));
            } else if (frame.type() == ERROR) {
                throw new AssertionError("spawn failed: " + describe(frame));
            } else if (frame.type() == EXITED && frame.id() == id) {
                return new Exit(frame.fields(), stdout.toString(), stderr.toString());
            }
        }
    }

    /** The stdout of proc id until its EXITED; fails on a non-zero exit. */
    String stdoutUntilExit(int id) throws IOException {
        Exit exit = awaitExit(id);
        assertThat(exit.fields()).as(exit.stdout()).containsEntry("code", "0");
        return exit.stdout();
    }

    /** Closes the helper's stdin, as a dying JVM would, and leaves the helper be. */
    void closeStdin() throws IOException {
        out.close();
    }

    /** Closes the helper's stdin and waits up to 5 s for it to exit, else kills it. */
    @Override
    public void close() throws IOException {
        out.close();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /** @return the value of {@code key}; fails the test, naming the record, when there is none */
    static String field(Fields fields, String key) {
        return fields.get(key).orElseThrow(() -> new AssertionError("no " + key + "= in " + fields));
    }

    /** @return a frame for a failure message: {@code type#id payload}, NULs shown as {@code |} */
    static String describe(Frame frame) {
        return frame.type() + "#" + frame.id() + " " + new String(frame.payload(), UTF_8).replace('\0', '|');
    }
}
