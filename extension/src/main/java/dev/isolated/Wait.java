package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.isolated.internal.env.Timeouts;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.apiguardian.api.API;

/**
 * When a service started in an environment is ready, as Testcontainers' {@code WaitStrategy} says: a line of its
 * output (seen N times), a listening port, an HTTP(S) endpoint answering with a status, the image's
 * {@code HEALTHCHECK}, a check of the test's own, or several of these together. The common case is one line:
 *
 * <pre>{@code
 * IsolatedProcess postgres = env.startImageCommand(
 *         Wait.forLogLine("database system is ready to accept connections", 2));
 * }</pre>
 *
 * <p>{@link #waitUntilReady(IsolatedEnvironment, IsolatedProcess)} checks about every 50 ms until the wait is
 * met (a log-line wait also the moment a matching line arrives), up to the environment's startup timeout ({@link IsolatedEnvironment#startupTimeout()}, by default
 * {@value IsolatedConfiguration#STARTUP_TIMEOUT} or 60 s). It fails with a {@link ServiceNotReadyException}
 * whose message names the service, the wait and how far it got, how long it waited, and the last lines of the
 * service's stdout and stderr:
 * <ul>
 *   <li>when the timeout passes: {@code Service [...] (host pid N) was not ready within T ms (the startup
 *       timeout): still waiting for ...};</li>
 *   <li>at once when the service exits first, naming its exit code: {@code Service [...] (host pid N) exited with
 *       code C after T ms, before it was ready: still waiting for ...};</li>
 *   <li>at once when the image's {@code HEALTHCHECK} finds it unhealthy (see {@link #forHealthcheck()}).</li>
 * </ul>
 * Waits are immutable and may be shared between tests.
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public abstract class Wait {
    private static final Duration POLL = Duration.ofMillis(50);

    Wait() {}

    /**
     * Ready when a line of the service's output (stdout or stderr) matches {@code regex}.
     *
     * @param regex a regular expression searched for in each line ({@link java.util.regex.Matcher#find()})
     * @return the wait
     */
    public static Wait forLogLine(String regex) {
        return forLogLine(regex, 1);
    }

    /**
     * Ready when {@code times} lines of the service's output (stdout and stderr together) match {@code regex}: the
     * official PostgreSQL image prints "database system is ready to accept connections" twice, once for the
     * temporary server of its init scripts and once for the real one. Each line is matched once, as it arrives,
     * and the wait returns as soon as the {@code times}-th matching line has; what the service printed before the
     * wait began is matched in the output it keeps (see {@link IsolatedProcess#stdout()}: complete up to 16 MiB
     * per stream by default). An unterminated last line counts too (checked every 50 ms). When matching a line
     * throws (the JDK's regex engine overflows its stack on a long line for a repeated group or alternation, such as
     * {@code (a|b)*}), the wait throws an {@link IsolatedException} {@code Matching /<regex>/ against a line of <n>
     * characters of the output threw java.lang.StackOverflowError; ...} with it as the cause.
     *
     * @param regex a regular expression searched for in each line
     * @param times how many matching lines make the service ready, at least 1
     * @return the wait
     * @throws IllegalArgumentException when {@code times} is below 1
     * @throws java.util.regex.PatternSyntaxException when {@code regex} is not a regular expression
     */
    public static Wait forLogLine(String regex, int times) {
        return new LogLineWait(Pattern.compile(Objects.requireNonNull(regex)), times);
    }

    /**
     * Ready when a TCP port listens in the environment's network namespace (on any address), as
     * {@link IsolatedEnvironment#awaitPort(int)} checks: the helper's listeners of
     * {@link IsolatedEnvironment#exposeHostPort(int)} do not count.
     *
     * @param port the port inside the environment
     * @return the wait
     * @throws IllegalArgumentException when {@code port} is not 1..65535 ({@code forPort(0): a TCP port is 1..65535})
     */
    public static Wait forPort(int port) {
        return new PortWait(port);
    }

    /**
     * Ready when {@code GET http://127.0.0.1:<mappedPort(port)><path>} answers with status 200 (other statuses
     * with {@link HttpWait#forStatus(int...)}, HTTPS with {@link HttpWait#usingTls()}). The request goes from the
     * JVM through {@link IsolatedEnvironment#mappedPort(int)}, as Testcontainers' {@code forHttp} does: it checks
     * the very way the test reaches the service, and needs no HTTP client in the image.
     *
     * @param port the port inside the environment
     * @param path the path of the request, starting with {@code /}
     * @return the wait, to refine with its {@code for...} and {@code using...} methods
     * @throws IllegalArgumentException when {@code port} is not 1..65535 ({@code forHttp(0, ...): a TCP port is
     *     1..65535})
     */
    public static HttpWait forHttp(int port, String path) {
        return new HttpWait(port, path);
    }

    /**
     * Ready when the image's {@code HEALTHCHECK} passes ({@link dev.isolated.image.ImageConfig#healthcheck()}):
     * its {@code Test} runs inside the environment, as {@code exec} runs commands (as the environment's
     * {@link Isolated#user()}, else the image's {@code User}, else root),
     * {@code CMD-SHELL} with {@code /bin/sh -c}; exit code 0 passes. The first check runs at once, the next ones
     * every {@code Interval} but at least once a second (Docker's default {@code Interval} is 30 s, too slow for a
     * test); each may run for the check's {@code Timeout}, and is stopped and counts as failed after it. The service
     * is unhealthy, and the wait fails at once with {@code Service [...] (host pid N) is unhealthy after T ms: its
     * HEALTHCHECK [...] failed F times in a row (Retries R, StartPeriod S ms, Interval I ms, Timeout O ms); the last
     * check exited with C: "<its output>"} (or {@code timed out: ...}) and the service's output, when the last {@code Retries} checks failed, none of them started within the
     * {@code StartPeriod}, and at least {@code StartPeriod + Retries × Interval} has passed since the wait began: no
     * earlier than Docker would call it unhealthy.
     *
     * @return the wait; {@link #waitUntilReady} throws an {@link IllegalStateException} when the image declares no
     *     {@code HEALTHCHECK}, switches it off ({@code NONE}) or gives a {@code Test} of a form Docker does not run
     *     (see {@link dev.isolated.image.ImageConfig.Healthcheck#command()})
     */
    public static Wait forHealthcheck() {
        return new HealthcheckWait();
    }

    /**
     * Ready when a check of the test's own returns {@code true}, e.g. a JDBC connection that opens:
     *
     * <pre>{@code
     * Wait.until("a JDBC connection", env -> {
     *     try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + env.mappedPort(5432) + "/postgres", "postgres", "pw")) {
     *         return c.isValid(1);
     *     }
     * })
     * }</pre>
     *
     * A check that throws (an exception, or an {@link AssertionError} such as a failed AssertJ assertion) is not
     * ready yet; the message of a wait that is not met names the last one thrown ({@code <description> (the last
     * check threw <exception>)}), or says {@code (the last check returned false)}.
     *
     * @param description what the check waits for, for messages
     * @param check the check, called about every 50 ms until it returns {@code true}
     * @return the wait
     */
    public static Wait until(String description, Check check) {
        return new ConditionWait(description, check);
    }

    /**
     * Ready when every one of {@code waits} is, checked in the given order: each is checked only once those before
     * it are met, and a met wait is not checked again.
     *
     * @param waits the waits
     * @return the wait
     */
    public static Wait allOf(Wait... waits) {
        if (waits.length == 0) {
            throw new IllegalArgumentException("allOf needs at least one wait");
        }
        return new AllOfWait(List.of(waits));
    }

    /**
     * Waits until {@code service} is ready, up to the environment's startup timeout
     * ({@link IsolatedEnvironment#startupTimeout()}).
     *
     * @param env the environment the service runs in
     * @param service the service, e.g. from {@link IsolatedEnvironment#startImageCommand(String...)} or
     *     {@link CommandRunner#start(String...)}
     * @throws ServiceNotReadyException when it is not ready in time, exits first, or is unhealthy; the message has
     *     the last lines of its output
     * @throws IsolatedException when the thread is interrupted, e.g. {@code Interrupted while waiting for [COMMAND]
     *     to be ready}; the thread's interrupt status is kept and the service runs on
     */
    public final void waitUntilReady(IsolatedEnvironment env, IsolatedProcess service) {
        await(env, service, env.startupTimeout(), "the startup timeout");
    }

    /**
     * Waits until {@code service} is ready, up to {@code timeout}.
     *
     * @param env the environment the service runs in
     * @param service the service
     * @param timeout how long to wait at most
     * @throws ServiceNotReadyException when it is not ready in time ({@code ... was not ready within T ms (the
     *     timeout given): ...}), exits first, or is unhealthy
     * @throws IsolatedException when the thread is interrupted, as {@link #waitUntilReady(IsolatedEnvironment,
     *     IsolatedProcess)}
     */
    public final void waitUntilReady(IsolatedEnvironment env, IsolatedProcess service, Duration timeout) {
        await(env, service, timeout, "the timeout given");
    }

    private void await(IsolatedEnvironment env, IsolatedProcess service, Duration timeout, String whichTimeout) {
        Objects.requireNonNull(env, "env");
        Objects.requireNonNull(service, "service");
        long start = System.nanoTime();
        long deadline = start + Timeouts.nanos(timeout);
        try (Probe probe = probe(env, service)) {
            while (true) {
                boolean alive = service.isAlive();
                try {
                    if (probe.ready(deadline)) {
                        return;
                    }
                } catch (Unready e) {
                    throw ServiceNotReadyException.unready(service, e.getMessage(), elapsedMillis(start));
                }
                if (!alive) {
                    throw ServiceNotReadyException.exited(
                            service, service.onExit().join(), elapsedMillis(start), probe.state());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw ServiceNotReadyException.timedOut(service, timeout, whichTimeout, probe.state());
                }
                pause(service, probe.progress(), Math.min(left, POLL.toNanos()));
            }
        }
    }

    /** Until the service exits, the probe's progress completes, or {@code nanos} pass. */
    private static void pause(IsolatedProcess service, CompletableFuture<?> progress, long nanos) {
        CompletableFuture<ExecResult> exit = service.onExit();
        try {
            (progress == null ? exit : CompletableFuture.anyOf(exit, progress)).get(nanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // still running: check again
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IsolatedException("Interrupted while waiting for " + service.command() + " to be ready", e);
        } catch (ExecutionException e) {
            if (exit.isCompletedExceptionally()) {
                throw e.getCause() instanceof IsolatedException ie
                        ? ie
                        : new IsolatedException(e.getCause().toString(), e);
            } // the probe's progress failed: its next check says why
        }
    }

    private static long elapsedMillis(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
    }

    /** One run of this wait against one service, with whatever it remembers between checks. */
    abstract Probe probe(IsolatedEnvironment env, IsolatedProcess service);

    /** What the wait waits for, without its progress, e.g. {@code a line matching /ready/ 2 times}. */
    @Override
    public abstract String toString();

    /**
     * A check of the test's own, for {@link #until(String, Check)}.
     *
     * @since 0.1
     */
    @FunctionalInterface
    @API(status = EXPERIMENTAL, since = "0.1")
    public interface Check {
        /**
         * Checks once whether the service is ready.
         *
         * @param env the environment the service runs in
         * @return whether the service is ready
         * @throws Exception counts as not ready yet, as does an {@link AssertionError}
         */
        boolean ready(IsolatedEnvironment env) throws Exception;
    }

    /** One run of a wait; closed when the wait ends. */
    interface Probe extends AutoCloseable {
        /**
         * @param deadline {@link System#nanoTime()} after which the wait times out, to bound a single check
         * @return whether the service is ready now
         * @throws Unready when it will never be (it is unhealthy)
         */
        boolean ready(long deadline);

        /** @return what is awaited and how far it got, e.g. {@code a line matching /ready/ 2 times (seen 1)} */
        String state();

        /**
         * @return completed when the probe may be ready now (e.g. the awaited log line arrived), to check at once
         *     rather than at the next poll; {@code null} when it can only be polled
         */
        default CompletableFuture<?> progress() {
            return null;
        }

        /** Releases what the probe holds (e.g. its watch of the output). */
        @Override
        default void close() {}
    }

    /** Thrown by a probe that knows the service will not become ready; the message says why. */
    static final class Unready extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Unready(String why) {
            super(why, null, false, false);
        }
    }
}
