package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.isolated.internal.env.Timeouts;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import org.apiguardian.api.API;

/**
 * A service did not become ready (see {@link Wait}): it timed out, exited first, or is unhealthy. The message
 * names the service, what was awaited and how far it got, and ends with the last {@value #TAIL_LINES} lines of the
 * service's stdout and of its stderr (each line cut at {@value #TAIL_LINE_CHARS} characters).
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public class ServiceNotReadyException extends IsolatedException {
    private static final long serialVersionUID = 1L;

    /** How many of the last lines of each stream the message shows: {@value}. */
    public static final int TAIL_LINES = 20;

    /** How many characters of a line the message shows at most: {@value}. */
    public static final int TAIL_LINE_CHARS = 500;

    private static final int COMMAND_CHARS = 200;

    /** The exit code, when the service exited; -1 when it still runs. */
    private final int exitCode;

    private ServiceNotReadyException(String message, int exitCode) {
        super(message);
        this.exitCode = exitCode;
    }

    /** {@return the service's exit code when it exited before it was ready ({@code 128 + N} for signal N)} */
    public OptionalInt exitCode() {
        return exitCode < 0 ? OptionalInt.empty() : OptionalInt.of(exitCode);
    }

    static ServiceNotReadyException timedOut(
            IsolatedProcess service, Duration timeout, String whichTimeout, String state) {
        return new ServiceNotReadyException(
                name(service) + " was not ready within " + Timeouts.millis(timeout) + " ms (" + whichTimeout
                        + "): still waiting for " + state + tail(service.stdout(), service.stderr()),
                -1);
    }

    static ServiceNotReadyException exited(IsolatedProcess service, ExecResult result, long afterMillis, String state) {
        String how = result.signal().isPresent()
                ? "was killed by signal " + result.signal().getAsInt() + " (exit code " + result.exitCode() + ")"
                : "exited with code " + result.exitCode();
        return new ServiceNotReadyException(
                name(service) + " " + how + " after " + afterMillis + " ms, before it was ready: still waiting for "
                        + state + tail(result.stdout(), result.stderr()),
                result.exitCode());
    }

    static ServiceNotReadyException unready(IsolatedProcess service, String why, long afterMillis) {
        return new ServiceNotReadyException(
                name(service) + " is unhealthy after " + afterMillis + " ms: " + why
                        + tail(service.stdout(), service.stderr()),
                -1);
    }

    private static String name(IsolatedProcess service) {
        String command = service.command().toString();
        if (command.length() > COMMAND_CHARS) {
            command = command.substring(0, COMMAND_CHARS) + "...]";
        }
        return "Service " + command + " (host pid " + service.hostPid() + ")";
    }

    private static String tail(String stdout, String stderr) {
        return "\n" + stream("stdout", stdout) + stream("stderr", stderr);
    }

    private static String stream(String name, String text) {
        if (text.isEmpty()) {
            return name + ": (empty)\n";
        }
        List<String> lines = Arrays.asList(text.split("\n", -1));
        if (lines.get(lines.size() - 1).isEmpty()) {
            lines = lines.subList(0, lines.size() - 1);
        }
        int from = Math.max(0, lines.size() - TAIL_LINES);
        StringBuilder sb = new StringBuilder(name)
                .append(from == 0 ? ":\n" : " (last " + TAIL_LINES + " of " + lines.size() + " lines):\n");
        for (String line : lines.subList(from, lines.size())) {
            sb.append("  ")
                    .append(line.length() > TAIL_LINE_CHARS ? line.substring(0, TAIL_LINE_CHARS) + "..." : line)
                    .append('\n');
        }
        return sb.toString();
    }
}
