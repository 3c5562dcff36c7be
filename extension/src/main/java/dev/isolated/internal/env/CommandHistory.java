package dev.isolated.internal.env;

import dev.isolated.ExecResult;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * The last commands an environment ran, with the user each ran as, their exit codes and output tails, for
 * failure reports. Only the tails are kept, not the results: twenty results of commands that each printed their
 * bound (16 MiB per stream) would hold 640 MiB for as long as the environment is open.
 */
final class CommandHistory {
    private static final int KEEP = 20;
    private static final int TAIL_CHARS = 400;

    private record Entry(
            List<String> command, int exitCode, boolean timedOut, ResolvedUser user, String stdout, String stderr) {}

    private final Deque<Entry> results = new ArrayDeque<>();

    /**
     * @param result what the command did
     * @param user who it ran as; {@code null} for root (no user given anywhere)
     */
    synchronized void record(ExecResult result, ResolvedUser user) {
        results.addLast(new Entry(
                result.command(),
                result.exitCode(),
                result.timedOut(),
                user,
                tail(result.stdout()),
                tail(result.stderr())));
        if (results.size() > KEEP) {
            results.removeFirst();
        }
    }

    synchronized String describe() {
        if (results.isEmpty()) {
            return "Commands: none ran\n";
        }
        StringBuilder sb =
                new StringBuilder("Commands (last ").append(results.size()).append("):\n");
        for (Entry e : results) {
            sb.append("  ")
                    .append(e.command())
                    .append(" -> exit ")
                    .append(e.exitCode())
                    .append(e.timedOut() ? " (timed out)" : "")
                    .append(", as ")
                    .append(e.user() == null ? "0:0" : e.user().describe())
                    .append('\n');
            appendTail(sb, "stdout", e.stdout());
            appendTail(sb, "stderr", e.stderr());
        }
        return sb.toString();
    }

    /** @return the last {@link #TAIL_CHARS} characters of the output, after {@code ...} when there was more */
    private static String tail(String text) {
        return text.length() > TAIL_CHARS ? "..." + text.substring(text.length() - TAIL_CHARS) : text;
    }

    private static void appendTail(StringBuilder sb, String name, String tail) {
        if (!tail.isEmpty()) {
            sb.append("    ")
                    .append(name)
                    .append(": ")
                    .append(tail.strip().replace("\n", "\n      "))
                    .append('\n');
        }
    }
}
