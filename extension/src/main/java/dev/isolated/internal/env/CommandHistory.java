package dev.isolated.internal.env;

import dev.isolated.ExecResult;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The last commands an environment ran, with the user each ran as, their exit codes and output tails, for
 * failure reports.
 */
final class CommandHistory {
    private static final int KEEP = 20;
    private static final int TAIL_CHARS = 400;

    private record Entry(ExecResult result, ResolvedUser user) {}

    private final Deque<Entry> results = new ArrayDeque<>();

    /**
     * @param result what the command did
     * @param user who it ran as; {@code null} for root (no user given anywhere)
     */
    synchronized void record(ExecResult result, ResolvedUser user) {
        results.addLast(new Entry(result, user));
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
            ExecResult r = e.result();
            sb.append("  ")
                    .append(r.command())
                    .append(" -> exit ")
                    .append(r.exitCode())
                    .append(r.timedOut() ? " (timed out)" : "")
                    .append(", as ")
                    .append(e.user() == null ? "0:0" : e.user().describe())
                    .append('\n');
            appendTail(sb, "stdout", r.stdout());
            appendTail(sb, "stderr", r.stderr());
        }
        return sb.toString();
    }

    private static void appendTail(StringBuilder sb, String name, String text) {
        if (!text.isEmpty()) {
            String tail = text.length() > TAIL_CHARS ? "..." + text.substring(text.length() - TAIL_CHARS) : text;
            sb.append("    ")
                    .append(name)
                    .append(": ")
                    .append(tail.strip().replace("\n", "\n      "))
                    .append('\n');
        }
    }
}
