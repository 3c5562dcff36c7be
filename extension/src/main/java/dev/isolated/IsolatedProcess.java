package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;
import org.apiguardian.api.API;

/**
 * A command running in the background in an {@link IsolatedEnvironment}, started with
 * {@link CommandRunner#start(String...)}. It is killed, at the latest, when its environment closes.
 *
 * <p>An interrupt of a thread waiting in {@link #waitFor}, {@link #awaitOutput} or {@link #awaitExit} ends the wait
 * with an {@link IsolatedException}, {@code Interrupted while waiting for [COMMAND] (host pid N) to exit; it still
 * runs (kill() stops it, as closing its environment does)} ({@code to print a line matching /PATTERN/} for
 * {@code awaitOutput}), the thread's interrupt status kept: as after {@link Process#waitFor()}, the process runs on.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public interface IsolatedProcess {

    /** {@return the command, program first} */
    List<String> command();

    /** {@return the process id as seen inside the environment's PID namespace} */
    long pid();

    /** {@return the process id on the host (in the JVM's PID namespace)} */
    long hostPid();

    /**
     * The command's stdin, for a command started with {@link Command#withOpenStdin()}: bytes written reach it
     * at once (no flush needed); {@code close()} is its EOF. What the command has not read yet waits in Isolated's
     * helper, up to 4 MiB: beyond that a write waits, as on a full pipe, until the command reads on. Writing after
     * it exited throws an {@link java.io.IOException}, like a broken pipe ({@code The process has exited: nothing
     * reads its stdin any more (broken pipe)}). When the command closed its stdin, what it did not read is dropped,
     * and a write throws {@code The process closed its stdin or exited: nothing reads it any more (broken pipe)}
     * once the helper found the pipe closed (at its next write to it); a waiting write whose command exits throws
     * one of the two. An interrupt ends a waiting write with a {@link java.io.InterruptedIOException} ({@code Interrupted
     * while waiting for [COMMAND] (host pid N) to read its stdin (B bytes written that it has not read); it still
     * runs (kill() stops it, as closing its environment does)}, its {@code bytesTransferred} what this write sent),
     * the thread's interrupt status kept.
     *
     * @return the stream to write the command's input to
     * @throws IllegalStateException when the command was not started with {@code withOpenStdin()}
     */
    java.io.OutputStream stdin();

    /** {@return whether the process is still running} */
    boolean isAlive();

    /**
     * {@return the standard output so far, decoded as UTF-8; kept up to the command's bound
     *     ({@link Command#withMaxOutputBytes(int)}, by default {@link ExecResult#DEFAULT_MAX_OUTPUT_BYTES}):
     *     beyond it the first and the latest half of the bound}
     */
    String stdout();

    /** {@return the standard error so far, decoded as UTF-8; bounded like {@link #stdout()}} */
    String stderr();

    /** {@return a future completed with the result when the process exits} */
    CompletableFuture<ExecResult> onExit();

    /**
     * Waits until the process exits. When its {@link Command#withOutputLines} consumer threw, this (and
     * {@link #awaitExit()}) throws an {@link IsolatedException} with that as its cause instead, and
     * {@link #onExit()} completes exceptionally with it (see there).
     *
     * @param timeout how long to wait at most; one too long to expire (up to {@code ChronoUnit.FOREVER.getDuration()})
     *     waits as long as the process runs
     * @return the result, with the output (complete up to its bound, see {@link ExecResult})
     * @throws java.util.concurrent.CompletionException wrapping a {@link java.util.concurrent.TimeoutException}
     *     that says what the process printed so far, when it is still running after {@code timeout}
     */
    ExecResult waitFor(Duration timeout);

    /**
     * Waits until the process's stdout or stderr has a line matching {@code pattern} (for example a daemon's
     * "ready" message), up to the default await timeout ({@code isolated.await.timeout}, 30 s).
     *
     * @param pattern a regular expression searched for in each line
     * @return the first matching line
     * @throws AwaitTimeoutException with the output so far, when no line matched in time
     * @throws IllegalStateException with the exit code and the output, when the process exited first
     * @throws IsolatedException when matching a line threw, e.g. {@code Matching /(a|b)*c/ against a line of 100000
     *     characters of the output threw java.lang.StackOverflowError; ...} (a repeated group or alternation makes the
     *     JDK's regex engine recurse for each repetition: repeat a character class, such as {@code [ab]*}, instead)
     */
    String awaitOutput(Pattern pattern);

    /**
     * Waits until the process exits, up to the default await timeout ({@code isolated.await.timeout}).
     *
     * @return the result
     * @throws AwaitTimeoutException with the output so far, when it is still running
     */
    ExecResult awaitExit();

    /**
     * Sends a signal to the process. An interrupt of the calling thread does not cut it short (the helper answers at
     * once); the thread's interrupt status is kept.
     *
     * @param signal the signal number, e.g. 15 for SIGTERM
     */
    void signal(int signal);

    /**
     * Kills the process with SIGKILL and waits for it. An interrupt of the calling thread does not cut it short (a
     * test's clean-up after JUnit's {@code @Timeout} still kills); the thread's interrupt status is kept.
     *
     * @return the result, with exit code 137 unless the process had already exited
     */
    ExecResult kill();
}
