package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.OptionalInt;
import org.apiguardian.api.API;

/**
 * What a command run in an {@link IsolatedEnvironment} did: its exit code and its output.
 *
 * <p>Each stream's output is kept up to a bound, {@link #DEFAULT_MAX_OUTPUT_BYTES} (16 MiB) per stream
 * unless {@link Command#withMaxOutputBytes(int)} says otherwise: of a stream that printed more, the first
 * half of the bound and the last half are kept, joined, and {@link #stdoutDroppedBytes()} /
 * {@link #stderrDroppedBytes()} say how many bytes were dropped between them ({@link #toString()} says so
 * too, as {@code [... 1,234,567 bytes dropped ...]}). The command itself is not slowed or stopped, and
 * {@link Command#withOutputLines} still sees every line.
 *
 * <p>Exit codes follow the shell's conventions: a command killed by signal {@code N} has exit code
 * {@code 128 + N} (and {@link #signal()} is {@code N}). A command that never ran has the exit code
 * {@code env} and {@code chroot} use, and says why on {@link #stderr()}: 127 when the program does not
 * exist in the environment ({@code isolated: PROGRAM: command not found in the environment (...)}), and also,
 * with the same words, when the interpreter it needs does not (the program a script's {@code #!} line names, the
 * loader of a dynamically linked program such as {@code /lib64/ld-linux-x86-64.so.2}: the kernel's
 * {@code ENOENT} does not tell them apart), 126
 * when it could not be executed ({@code isolated: PROGRAM: cannot execute (...)}), 125 when its working
 * directory could not be entered ({@code isolated: working directory DIR does not exist in the
 * environment}, {@code ... is not a directory}). A command whose process was killed by signal {@code N} before
 * it could exec (a {@code kill -1} run by another command of the environment at that moment, the OOM killer) has
 * {@code 128 + N} as well, {@link #signal()} {@code N}, and says so on {@link #stderr()} ({@code isolated: PROGRAM:
 * killed by signal 9 (SIGKILL) before it could exec (...)}). A command the helper could not start (its own {@code socketpair},
 * {@code pipe2} or {@code fork} failed, e.g. out of file descriptors) has no result: {@code exec} and {@code start}
 * throw an {@link EnvironmentSetupException} at stage {@code exec} with the helper's hint. A command stopped at its timeout has {@link #timedOut()} set, one killed for using more memory than
 * its environment's limit {@link #oomKilled()}.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class ExecResult {
    /** How many bytes of each stream (stdout, stderr) a result keeps by default: 16 MiB. */
    public static final int DEFAULT_MAX_OUTPUT_BYTES = 16 << 20;

    private static final int MAX_SHOWN_LINE = 2000;

    private final List<String> command;
    private final int exitCode;
    private final OptionalInt signal;
    private final byte[] stdout;
    private final byte[] stderr;
    private final long stdoutDropped;
    private final long stderrDropped;
    private final boolean timedOut;
    private final boolean oomKilled;
    private final Duration duration;

    /**
     * Creates a result; done by the environment only (tests of code that consumes results run a command).
     *
     * @param command the command as run
     * @param exitCode the exit code, {@code 128 + N} when killed by signal {@code N}
     * @param signal the signal that killed the command, if any
     * @param stdout everything the command wrote to standard output
     * @param stderr everything the command wrote to standard error
     * @param timedOut whether the command was stopped because it ran past its timeout
     * @param oomKilled whether the kernel's OOM killer killed it (its environment's memory limit was reached)
     * @param duration how long the command ran
     */
    ExecResult(
            List<String> command,
            int exitCode,
            OptionalInt signal,
            byte[] stdout,
            byte[] stderr,
            boolean timedOut,
            boolean oomKilled,
            Duration duration) {
        this(command, exitCode, signal, stdout, 0, stderr, 0, timedOut, oomKilled, duration);
    }

    /**
     * Creates a result whose output was cut to its bound; done by the environment only.
     *
     * @param command the command as run
     * @param exitCode the exit code, {@code 128 + N} when killed by signal {@code N}
     * @param signal the signal that killed the command, if any
     * @param stdout the kept standard output: its head and its tail, joined
     * @param stdoutDroppedBytes how many bytes of standard output were dropped between head and tail
     * @param stderr the kept standard error: its head and its tail, joined
     * @param stderrDroppedBytes how many bytes of standard error were dropped between head and tail
     * @param timedOut whether the command was stopped because it ran past its timeout
     * @param oomKilled whether the kernel's OOM killer killed it (its environment's memory limit was reached)
     * @param duration how long the command ran
     */
    ExecResult(
            List<String> command,
            int exitCode,
            OptionalInt signal,
            byte[] stdout,
            long stdoutDroppedBytes,
            byte[] stderr,
            long stderrDroppedBytes,
            boolean timedOut,
            boolean oomKilled,
            Duration duration) {
        if (stdoutDroppedBytes < 0 || stderrDroppedBytes < 0) {
            throw new IllegalArgumentException("A count of dropped bytes cannot be negative");
        }
        this.stdoutDropped = stdoutDroppedBytes;
        this.stderrDropped = stderrDroppedBytes;
        this.command = List.copyOf(command);
        this.exitCode = exitCode;
        this.signal = Objects.requireNonNull(signal);
        this.stdout = stdout.clone();
        this.stderr = stderr.clone();
        this.timedOut = timedOut;
        this.oomKilled = oomKilled;
        this.duration = Objects.requireNonNull(duration);
    }

    /** {@return the command as it was run, program first} */
    public List<String> command() {
        return command;
    }

    /** {@return the exit code; {@code 128 + N} when the command was killed by signal {@code N}} */
    public int exitCode() {
        return exitCode;
    }

    /** {@return the signal that killed the command, or empty when it exited by itself} */
    public OptionalInt signal() {
        return signal;
    }

    /**
     * {@return the standard output, decoded as UTF-8: complete, unless more than the bound was printed (then
     *     its first and last part, see {@link #stdoutDroppedBytes()})}
     */
    public String stdout() {
        return new String(stdout, StandardCharsets.UTF_8);
    }

    /**
     * {@return the standard error, decoded as UTF-8: complete, unless more than the bound was printed (then
     *     its first and last part, see {@link #stderrDroppedBytes()})}
     */
    public String stderr() {
        return new String(stderr, StandardCharsets.UTF_8);
    }

    /** {@return the standard output split into lines, without line terminators} */
    public List<String> stdoutLines() {
        return stdout().lines().toList();
    }

    /** {@return the raw bytes of the standard output (as kept: see {@link #stdoutDroppedBytes()})} */
    public byte[] stdoutBytes() {
        return stdout.clone();
    }

    /**
     * {@return how many bytes of standard output were dropped because the command printed more than the
     *     bound ({@link #DEFAULT_MAX_OUTPUT_BYTES}, or {@link Command#withMaxOutputBytes(int)}): they were
     *     between the kept first half and the kept last half; 0 when {@link #stdout()} is complete}
     */
    public long stdoutDroppedBytes() {
        return stdoutDropped;
    }

    /** {@return like {@link #stdoutDroppedBytes()}, for standard error} */
    public long stderrDroppedBytes() {
        return stderrDropped;
    }

    /**
     * {@return whether the command ran past its timeout and was stopped: its process group sent SIGTERM, then
     *     SIGKILL two seconds later; a command that exits on SIGTERM by itself keeps its own exit code (and no {@link #signal()})}
     */
    public boolean timedOut() {
        return timedOut;
    }

    /**
     * {@return whether the kernel's OOM killer ended the command because its environment reached its memory limit
     *     ({@link Limits#memoryBytes()}): the command ended with exit code 137, killed itself or passing on a child
     *     that was (as {@code sh -c 'app; exit $?'} does), while the environment's OOM kill count rose. A command
     *     that goes on after a child's OOM kill is not; {@link ResourceUsage#oomKills()} counts every kill}
     */
    public boolean oomKilled() {
        return oomKilled;
    }

    /** {@return how long the command ran, from start to exit} */
    public Duration duration() {
        return duration;
    }

    /**
     * {@return whether the command exited with code 0 and did not time out: a command that exits with code 0 on
     *     the SIGTERM of its timeout did not succeed}
     */
    public boolean succeeded() {
        return exitCode == 0 && !timedOut;
    }

    /**
     * A description for failure messages: the command, how it ended and the tail of its output.
     *
     * @return a multi-line description
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        sb.append("command ").append(command).append(' ');
        if (timedOut) {
            sb.append("timed out after ").append(duration.toMillis()).append(" ms and ");
        }
        if (timedOut && signal.isEmpty()) {
            sb.append("exited with code ").append(exitCode).append(" on SIGTERM");
        } else if (oomKilled) {
            sb.append("was killed by the OOM killer (exit code ")
                    .append(exitCode)
                    .append("): the environment reached its memory limit");
        } else if (signal.isPresent()) {
            sb.append("was killed by signal ")
                    .append(signal.getAsInt())
                    .append(" (exit code ")
                    .append(exitCode)
                    .append(')');
        } else {
            sb.append("exited with code ").append(exitCode);
        }
        appendTail(sb, "stdout", stdout(), stdoutDropped);
        appendTail(sb, "stderr", stderr(), stderrDropped);
        return sb.toString();
    }

    private static void appendTail(StringBuilder sb, String name, String text, long dropped) {
        if (dropped > 0) {
            sb.append("\n  ")
                    .append(name)
                    .append(": [... ")
                    .append(String.format(Locale.ROOT, "%,d", dropped))
                    .append(" bytes dropped ...] (the output exceeded its bound; the first and last parts are kept)");
        }
        if (text.isEmpty()) {
            sb.append("\n  ").append(name).append(": (empty)");
            return;
        }
        List<String> lines = text.lines().toList();
        int from = Math.max(0, lines.size() - 20);
        sb.append("\n  ").append(name).append(from > 0 ? " (last 20 lines):" : ":");
        for (String line : lines.subList(from, lines.size())) {
            sb.append("\n    ")
                    .append(
                            line.length() <= MAX_SHOWN_LINE
                                    ? line
                                    : line.substring(0, MAX_SHOWN_LINE) + "... (" + (line.length() - MAX_SHOWN_LINE)
                                            + " more characters)");
        }
    }
}
