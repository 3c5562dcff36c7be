package dev.isolated;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Consumer;

/**
 * A command to run in an environment, with its options. Immutable: each {@code with...} method returns a
 * copy.
 *
 * <pre>{@code
 * ExecResult r = env.exec(Command.of("sh", "-c", "cat > /tmp/in; wc -c < /tmp/in")
 *         .withStdin("hello")
 *         .withEnv("LANG", "C")
 *         .withWorkingDirectory("/tmp")
 *         .withUser(1000, 1000)
 *         .withTimeout(Duration.ofSeconds(5))
 *         .withOutputLines(line -> System.out.println("[box] " + line)));
 * }</pre>
 *
 * <p>Defaults: stdin empty (EOF at once; see {@link #withStdin} and {@link #withOpenStdin}); the environment
 * variables are {@code PATH} and {@code HOME=/} (plus the image's {@code Env} when it has a config) and then
 * those given here; the working directory {@code /} (or the image's {@code WorkingDir}); the user root inside
 * the environment (or the image's {@code User}); the timeout of {@code isolated.exec.timeout}; at most
 * {@link ExecResult#DEFAULT_MAX_OUTPUT_BYTES} (16 MiB) of each output stream kept.
 */
public final class Command {
    private final List<String> argv;
    private final byte[] stdin;
    private final boolean openStdin;
    private final Map<String, String> env;
    private final String workingDirectory;
    private final OptionalInt uid;
    private final OptionalInt gid;
    private final Duration timeout;
    private final Consumer<String> outputLines;
    private final int maxOutputBytes;

    private Command(List<String> argv, byte[] stdin, boolean openStdin, Map<String, String> env, String workingDirectory,
            OptionalInt uid, OptionalInt gid, Duration timeout, Consumer<String> outputLines, int maxOutputBytes) {
        this.argv = argv;
        this.stdin = stdin;
        this.openStdin = openStdin;
        this.env = env;
        this.workingDirectory = workingDirectory;
        this.uid = uid;
        this.gid = gid;
        this.timeout = timeout;
        this.outputLines = outputLines;
        this.maxOutputBytes = maxOutputBytes;
    }

    /**
     * @param argv the program (looked up on the environment's {@code PATH}) and its arguments
     * @return a command with default options
     * @throws IllegalArgumentException when no program is given
     */
    public static Command of(String... argv) {
        if (argv.length == 0 || argv[0].isEmpty()) {
            throw new IllegalArgumentException("A command needs a program: Command.of(\"ls\", \"-l\")");
        }
        return new Command(List.of(argv), null, false, Map.of(), null, OptionalInt.empty(), OptionalInt.empty(), null, null,
                ExecResult.DEFAULT_MAX_OUTPUT_BYTES);
    }

    /**
     * @param data the bytes the command reads on stdin (then EOF)
     * @return a copy with this stdin
     */
    public Command withStdin(byte[] data) {
        return new Command(argv, data.clone(), false, env, workingDirectory, uid, gid, timeout, outputLines,
                maxOutputBytes);
    }

    /**
     * @param text the text the command reads on stdin, UTF-8 encoded (then EOF)
     * @return a copy with this stdin
     */
    public Command withStdin(String text) {
        return withStdin(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Keeps the command's stdin open for the test to write to while it runs, through
     * {@link IsolatedProcess#stdin()} (for {@link CommandRunner#start(Command)}); closing that stream is the
     * command's EOF. Replaces any stdin given with {@code withStdin}.
     *
     * <pre>{@code
     * IsolatedProcess cat = env.start(Command.of("cat").withOpenStdin());
     * cat.stdin().write("hello\n".getBytes());
     * cat.awaitOutput(Pattern.compile("hello"));
     * cat.stdin().close();
     * }</pre>
     *
     * @return a copy whose stdin stays open until {@code stdin().close()} (or the process exits)
     */
    public Command withOpenStdin() {
        return new Command(argv, null, true, env, workingDirectory, uid, gid, timeout, outputLines,
                maxOutputBytes);
    }

    /**
     * @param hostFile a file on the host whose contents the command reads on stdin
     * @return a copy with this stdin
     * @throws UncheckedIOException when the file cannot be read
     */
    public Command withStdin(Path hostFile) {
        try {
            return withStdin(Files.readAllBytes(hostFile));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + hostFile + " for the stdin of " + argv, e);
        }
    }

    /**
     * @param name an environment variable's name
     * @param value its value
     * @return a copy that also sets this variable (overriding the image's and the defaults)
     */
    public Command withEnv(String name, String value) {
        if (name.isEmpty() || name.indexOf('=') >= 0) {
            throw new IllegalArgumentException("Not an environment variable name: \"" + name + "\"");
        }
        Map<String, String> copy = new LinkedHashMap<>(env);
        copy.put(name, Objects.requireNonNull(value));
        return new Command(argv, stdin, openStdin, copy, workingDirectory, uid, gid, timeout, outputLines,
                maxOutputBytes);
    }

    /**
     * @param directory an absolute path inside the environment; when it does not exist there (or is not a
     *     directory) the command does not run: its result has exit code 125 and says so on stderr
     * @return a copy that starts in this directory
     */
    public Command withWorkingDirectory(String directory) {
        if (!directory.startsWith("/")) {
            throw new IllegalArgumentException("The working directory must be absolute (inside the environment): "
                    + directory);
        }
        return new Command(argv, stdin, openStdin, env, directory, uid, gid, timeout, outputLines,
                maxOutputBytes);
    }

    /**
     * @param uid the user id inside the environment
     * @param gid the group id inside the environment
     * @return a copy that runs as this user and group
     */
    public Command withUser(int uid, int gid) {
        return new Command(argv, stdin, openStdin, env, workingDirectory, OptionalInt.of(uid), OptionalInt.of(gid), timeout,
                outputLines, maxOutputBytes);
    }

    /**
     * @param timeout how long {@code exec} waits before sending SIGTERM, then SIGKILL two seconds later
     * @return a copy with this timeout
     */
    public Command withTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("A timeout must be positive: " + timeout);
        }
        return new Command(argv, stdin, openStdin, env, workingDirectory, uid, gid, timeout, outputLines,
                maxOutputBytes);
    }

    /**
     * @param consumer receives each line of stdout and stderr as soon as it is complete, e.g. to log it;
     *     the output is captured all the same (up to its bound, {@link #withMaxOutputBytes(int)}), and the
     *     consumer sees every line, also beyond the bound; a line longer than the bound (or than 64 KiB,
     *     when the bound is smaller) is passed in pieces of that size
     * @return a copy that streams its output
     */
    public Command withOutputLines(Consumer<String> consumer) {
        return new Command(argv, stdin, openStdin, env, workingDirectory, uid, gid, timeout, Objects.requireNonNull(consumer),
                maxOutputBytes);
    }

    /**
     * Sets how much of each output stream (stdout, stderr) the result keeps; the default is
     * {@link ExecResult#DEFAULT_MAX_OUTPUT_BYTES} (16 MiB). Of a stream that prints more, the first half and
     * the last half of the bound are kept and the result says how many bytes were dropped between them
     * ({@link ExecResult#stdoutDroppedBytes()}); the command runs on unhindered.
     *
     * @param maxBytes the bound per stream, in bytes; 0 keeps nothing
     * @return a copy with this bound
     * @throws IllegalArgumentException when {@code maxBytes} is negative
     */
    public Command withMaxOutputBytes(int maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("The output bound cannot be negative: " + maxBytes);
        }
        return new Command(argv, stdin, openStdin, env, workingDirectory, uid, gid, timeout, outputLines, maxBytes);
    }

    /** @return how many bytes of each output stream the result keeps at most */
    public int maxOutputBytes() {
        return maxOutputBytes;
    }

    /** @return the program and its arguments */
    public List<String> argv() {
        return argv;
    }

    /** @return the stdin bytes, if any were given */
    public Optional<byte[]> stdin() {
        return Optional.ofNullable(stdin).map(byte[]::clone);
    }

    /** @return whether stdin stays open for {@link IsolatedProcess#stdin()} */
    public boolean hasOpenStdin() {
        return openStdin;
    }

    /** @return the environment variables given here (on top of the defaults) */
    public Map<String, String> env() {
        return env;
    }

    /** @return the working directory, if given */
    public Optional<String> workingDirectory() {
        return Optional.ofNullable(workingDirectory);
    }

    /** @return the user id, if given */
    public OptionalInt uid() {
        return uid;
    }

    /** @return the group id, if given */
    public OptionalInt gid() {
        return gid;
    }

    /** @return the timeout, if given */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** @return the output line consumer, if given */
    public Optional<Consumer<String>> outputLines() {
        return Optional.ofNullable(outputLines);
    }

    @Override
    public String toString() {
        return argv.toString() + (env.isEmpty() ? "" : " env " + env)
                + (workingDirectory == null ? "" : " in " + workingDirectory)
                + (uid.isPresent() ? " as " + uid.getAsInt() + ":" + gid.getAsInt() : "");
    }
}
