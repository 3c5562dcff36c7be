package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Consumer;
import org.apiguardian.api.API;

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
 * variables are {@code PATH} and {@code HOME=/}, then the image's {@code Env} (when it has a config), then the
 * environment's ({@link Isolated#env()}, {@link IsolatedEnvironmentBuilder#env(String, String)}), then those
 * given here, each overriding the one before for the same name; the working directory is the one given here,
 * else the environment's ({@link Isolated#workingDirectory()}), else the image's {@code WorkingDir} (made when
 * the environment is created if the image lacks it, see {@link IsolatedEnvironment#imageConfig()}), else
 * {@code /}; the user likewise: the one given here, else the environment's ({@link Isolated#user()}), else the
 * image's {@code User}, else root inside the environment; the timeout of {@code isolated.exec.timeout}; at
 * most {@link ExecResult#DEFAULT_MAX_OUTPUT_BYTES} (16 MiB) of each output stream kept.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class Command {
    private final List<String> argv;
    private final byte[] stdin;
    private final boolean openStdin;
    private final Map<String, String> env;
    private final String workingDirectory;
    private final OptionalInt uid;
    private final OptionalInt gid;
    private final String user;
    private final Duration timeout;
    private final Consumer<String> outputLines;
    private final int maxOutputBytes;

    private Command(
            List<String> argv,
            byte[] stdin,
            boolean openStdin,
            Map<String, String> env,
            String workingDirectory,
            OptionalInt uid,
            OptionalInt gid,
            String user,
            Duration timeout,
            Consumer<String> outputLines,
            int maxOutputBytes) {
        this.argv = argv;
        this.stdin = stdin;
        this.openStdin = openStdin;
        this.env = env;
        this.workingDirectory = workingDirectory;
        this.uid = uid;
        this.gid = gid;
        this.user = user;
        this.timeout = timeout;
        this.outputLines = outputLines;
        this.maxOutputBytes = maxOutputBytes;
    }

    /**
     * Creates a command from a program and its arguments.
     *
     * @param argv the program (looked up on the environment's {@code PATH}) and its arguments
     * @return a command with default options
     * @throws IllegalArgumentException when no program is given
     */
    public static Command of(String... argv) {
        if (argv.length == 0 || argv[0].isEmpty()) {
            throw new IllegalArgumentException("A command needs a program: Command.of(\"ls\", \"-l\")");
        }
        return new Command(
                List.of(argv),
                null,
                false,
                Map.of(),
                null,
                OptionalInt.empty(),
                OptionalInt.empty(),
                null,
                null,
                null,
                ExecResult.DEFAULT_MAX_OUTPUT_BYTES);
    }

    /**
     * A copy that reads these bytes on stdin. They are handed to Isolated's helper at once, which keeps what the
     * command has not read yet; for input too large for that, write it to {@link #withOpenStdin()}'s stream, which
     * waits for the command to read.
     *
     * @param data the bytes the command reads on stdin (then EOF)
     * @return a copy with this stdin
     */
    public Command withStdin(byte[] data) {
        return new Command(
                argv, data.clone(), false, env, workingDirectory, uid, gid, user, timeout, outputLines, maxOutputBytes);
    }

    /**
     * A copy that reads this text on stdin.
     *
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
        return new Command(
                argv, null, true, env, workingDirectory, uid, gid, user, timeout, outputLines, maxOutputBytes);
    }

    /**
     * A copy that reads a host file's contents on stdin.
     *
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
     * A copy that also sets an environment variable.
     *
     * @param name an environment variable's name
     * @param value its value
     * @return a copy that also sets this variable (overriding the image's and the defaults)
     * @throws IllegalArgumentException when {@code name} is empty or holds {@code =}
     */
    public Command withEnv(String name, String value) {
        if (name.isEmpty() || name.indexOf('=') >= 0) {
            throw new IllegalArgumentException("Command.withEnv(\"" + name + "\", ...): not an environment variable "
                    + "name; give the name and the value apart, e.g. withEnv(\"PGDATA\", \"/data\")");
        }
        Map<String, String> copy = new LinkedHashMap<>(env);
        copy.put(name, Objects.requireNonNull(value));
        return new Command(
                argv, stdin, openStdin, copy, workingDirectory, uid, gid, user, timeout, outputLines, maxOutputBytes);
    }

    /**
     * A copy that starts in another directory.
     *
     * @param directory an absolute path inside the environment; when it does not exist there (or is not a
     *     directory) the command does not run: its result has exit code 125 and says so on stderr
     * @return a copy that starts in this directory
     * @throws IllegalArgumentException when it is not absolute
     */
    public Command withWorkingDirectory(String directory) {
        if (!directory.startsWith("/")) {
            throw new IllegalArgumentException("Command.withWorkingDirectory(\"" + directory
                    + "\"): the working directory must be an absolute path inside the environment, e.g. \"/"
                    + directory + "\"");
        }
        return new Command(
                argv, stdin, openStdin, env, directory, uid, gid, user, timeout, outputLines, maxOutputBytes);
    }

    /**
     * A copy that runs as a user and group given by id.
     *
     * @param uid the user id inside the environment
     * @param gid the group id inside the environment
     * @return a copy that runs as this user and group, without supplementary groups (replacing a
     *     {@link #withUser(String)})
     */
    public Command withUser(int uid, int gid) {
        return new Command(
                argv,
                stdin,
                openStdin,
                env,
                workingDirectory,
                OptionalInt.of(uid),
                OptionalInt.of(gid),
                null,
                timeout,
                outputLines,
                maxOutputBytes);
    }

    /**
     * Runs the command as a user of the environment, given as {@code docker run --user} takes it:
     * {@code "postgres"}, {@code "1000"}, {@code "postgres:postgres"}, {@code "1000:1000"}. Names are looked up
     * in the environment's own {@code /etc/passwd} and {@code /etc/group} (never the host's) each time the
     * command runs, as Docker does: a name must be there; a numeric uid need not be (its group is then 0);
     * without a group, the user's primary group applies, and the groups of {@code /etc/group} that list the
     * user's name become its supplementary groups. An unknown name fails {@code exec}/{@code start} with an
     * {@link IsolatedException} such as {@code Command.withUser("postgres"): no user "postgres" in the
     * environment's /etc/passwd; add the user to the image, or give numeric ids such as "1000:1000"}. Run
     * rootless, an id other than the one {@link UserMapping#ROOT} or {@link UserMapping#SELF} maps (0, or the tests'
     * own uid) needs {@link UserMapping#SUBIDS}.
     *
     * @param user a name or uid, optionally followed by {@code :} and a group name or gid
     * @return a copy that runs as this user (replacing a {@link #withUser(int, int)})
     * @throws IllegalArgumentException when {@code user} is not of that form (empty, blanks, several colons)
     */
    public Command withUser(String user) {
        String checked = dev.isolated.internal.env.ResolvedUser.checkForm(user, "Command.withUser");
        return new Command(
                argv,
                stdin,
                openStdin,
                env,
                workingDirectory,
                OptionalInt.empty(),
                OptionalInt.empty(),
                checked,
                timeout,
                outputLines,
                maxOutputBytes);
    }

    /**
     * A copy with another timeout.
     *
     * @param timeout how long {@code exec} waits before sending SIGTERM, then SIGKILL two seconds later, to the
     *     command's process group (the command and what it started that stayed in it, as GNU {@code timeout} does);
     *     one too long to expire (up to {@code ChronoUnit.FOREVER.getDuration()}) waits as long as the command runs
     * @return a copy with this timeout
     * @throws IllegalArgumentException when {@code timeout} is zero or negative
     */
    public Command withTimeout(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("Command.withTimeout(" + timeout + "): it must be positive");
        }
        return new Command(
                argv, stdin, openStdin, env, workingDirectory, uid, gid, user, timeout, outputLines, maxOutputBytes);
    }

    /**
     * A copy that also passes its output lines to a consumer as they come.
     *
     * @param consumer receives each line of stdout and stderr as soon as it is complete, e.g. to log it;
     *     the output is captured all the same (up to its bound, {@link #withMaxOutputBytes(int)}), and the
     *     consumer sees every line, also beyond the bound; a line longer than the bound (or than 64 KiB,
     *     when the bound is smaller) is passed in pieces of that size. It is called on the thread that reads
     *     the output and answers of every environment of the JVM, so it should return quickly: while it blocks,
     *     no output or answer of any environment is read, and every call on them waits (a consumer that waits for
     *     the test's next step deadlocks the test). One that throws is given no more lines, the command runs on,
     *     and once it exited {@code exec} (or the process's {@code waitFor} and {@code awaitExit}) throws an
     *     {@link IsolatedException} {@code The output consumer of [<command>] (Command.withOutputLines) threw
     *     <exception>; it was given no more lines}, with that exception as its cause (and {@code onExit()}
     *     completes exceptionally with it)
     * @return a copy that streams its output
     */
    public Command withOutputLines(Consumer<String> consumer) {
        return new Command(
                argv,
                stdin,
                openStdin,
                env,
                workingDirectory,
                uid,
                gid,
                user,
                timeout,
                Objects.requireNonNull(consumer),
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
            throw new IllegalArgumentException("Command.withMaxOutputBytes(" + maxBytes + "): it must be 0 or more");
        }
        return new Command(
                argv, stdin, openStdin, env, workingDirectory, uid, gid, user, timeout, outputLines, maxBytes);
    }

    /** {@return how many bytes of each output stream the result keeps at most} */
    public int maxOutputBytes() {
        return maxOutputBytes;
    }

    /** {@return the program and its arguments} */
    public List<String> argv() {
        return argv;
    }

    /** {@return the stdin bytes, if any were given} */
    public Optional<byte[]> stdin() {
        return stdin == null
                ? Optional.empty()
                : Optional.of(
                        stdin.clone()); // not map(byte[]::clone): a class spun at its first use, on the first test's
        // path
    }

    /** {@return whether stdin stays open for {@link IsolatedProcess#stdin()}} */
    public boolean hasOpenStdin() {
        return openStdin;
    }

    /** {@return the environment variables given here (on top of the defaults)} */
    public Map<String, String> env() {
        return env;
    }

    /** {@return the working directory, if given} */
    public Optional<String> workingDirectory() {
        return Optional.ofNullable(workingDirectory);
    }

    /** {@return the user given with {@link #withUser(String)}, if any (resolved when the command runs)} */
    public Optional<String> user() {
        return Optional.ofNullable(user);
    }

    /** {@return the user id, if given with {@link #withUser(int, int)}} */
    public OptionalInt uid() {
        return uid;
    }

    /** {@return the group id, if given with {@link #withUser(int, int)}} */
    public OptionalInt gid() {
        return gid;
    }

    /** {@return the timeout, if given} */
    public Optional<Duration> timeout() {
        return Optional.ofNullable(timeout);
    }

    /** {@return the output line consumer, if given} */
    public Optional<Consumer<String>> outputLines() {
        return Optional.ofNullable(outputLines);
    }

    @Override
    public String toString() {
        return argv.toString()
                + (env.isEmpty() ? "" : " env " + env)
                + (workingDirectory == null ? "" : " in " + workingDirectory)
                + (uid.isPresent() ? " as " + uid.getAsInt() + ":" + gid.getAsInt() : "")
                + (user == null ? "" : " as " + user);
    }
}
