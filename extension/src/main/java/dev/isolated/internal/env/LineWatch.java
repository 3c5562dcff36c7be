package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * The lines of a command's output that match a pattern, counted as they arrive: each chunk of stdout or stderr
 * is split into lines of its own stream once, when it arrives (on the helper's reader thread), and each line is
 * matched once, so a wait costs nothing per check however much the command printed, and {@link #met()}
 * completes the moment the {@code times}-th matching line arrives. The unterminated last line of a stream is
 * matched too, when asked ({@link #seen()}, {@link #firstMatch()}), since it may still grow. What the command
 * printed before the watch began is read from its kept output (see {@code IsolatedProcess#stdout()}). Made by
 * {@link WatchableOutput#watchLines}; {@link #close()} stops it.
 */
public final class LineWatch implements AutoCloseable {
    private final Pattern pattern;
    private final int times;
    private final OutputLines stdout;
    private final OutputLines stderr;
    private final Runnable onClose;
    private static final String STACK_HINT = "; the JDK's regex engine recurses for each repetition of a group or"
            + " an alternation, such as (a|b)*, so a long line overflows its stack: repeat a character class instead,"
            + " such as [ab]*";

    private final CompletableFuture<String> met = new CompletableFuture<>();
    // guarded by this: accept and exited take this before the splitters' locks, as seen and firstMatch do
    private int complete; // complete lines that matched
    private String first; // the first complete line that matched
    private IsolatedException failure; // matching a line threw: no more lines are matched

    LineWatch(Pattern pattern, int times, int longestLine, Runnable onClose) {
        this.pattern = pattern;
        this.times = times;
        this.onClose = onClose;
        this.stdout = new OutputLines(this::line, longestLine);
        this.stderr = new OutputLines(this::line, longestLine);
    }

    /** A chunk of the command's stdout or stderr, in order. Called with the command's output lock held. */
    synchronized void accept(boolean isStderr, byte[] chunk) {
        (isStderr ? stderr : stdout).accept(chunk);
    }

    /** The command exited: its unterminated last lines are lines now. */
    synchronized void exited() {
        stdout.flush();
        stderr.flush();
    }

    private void line(String line) {
        if (failure != null) {
            return;
        }
        if (matches(line)) {
            complete++;
            if (first == null) {
                first = line;
            }
            if (complete >= times) {
                met.complete(first);
            }
        }
    }

    /**
     * Whether the pattern is found in the line. What matching throws (a {@link StackOverflowError} of a pattern that
     * recurses per character, such as {@code (a|b)*}, on a long line) is kept, for {@link #seen()} and
     * {@link #firstMatch()} to throw, and no more lines are matched: it must not end the thread that reads every
     * environment's output.
     */
    private boolean matches(String line) {
        try {
            return pattern.matcher(line).find();
        } catch (RuntimeException | StackOverflowError e) {
            failure = new IsolatedException(
                    "Matching /" + pattern + "/ against a line of " + line.length() + " characters of the output threw "
                            + e + (e instanceof StackOverflowError ? STACK_HINT : ""),
                    e);
            met.completeExceptionally(failure);
            return false;
        }
    }

    /**
     * @return how many lines matched so far, the unterminated last line of each stream included
     * @throws IsolatedException when matching a line threw
     */
    public synchronized int seen() {
        int seen = complete + pendingMatch(stdout) + pendingMatch(stderr);
        throwFailure();
        return seen;
    }

    private void throwFailure() {
        if (failure != null) { // thrown anew: with the stack of the caller, not of the reader thread
            throw new IsolatedException(failure.getMessage(), failure.getCause());
        }
    }

    /**
     * @return the first line that matched so far, complete lines first, then an unterminated last line
     * @throws IsolatedException when matching a line threw
     */
    public synchronized Optional<String> firstMatch() {
        throwFailure();
        if (first != null) {
            return Optional.of(first);
        }
        for (OutputLines stream : new OutputLines[] {stdout, stderr}) {
            String pending = stream.pending();
            if (!pending.isEmpty() && matches(pending)) {
                return Optional.of(pending);
            }
        }
        throwFailure();
        return Optional.empty();
    }

    private int pendingMatch(OutputLines stream) {
        String pending = stream.pending();
        return failure == null && !pending.isEmpty() && matches(pending) ? 1 : 0;
    }

    /**
     * @return completed with the first matching line when {@code times} complete lines have matched, exceptionally
     *     when matching a line threw; never completed otherwise (wait on it together with the command's exit)
     */
    public CompletableFuture<String> met() {
        return met;
    }

    /** Stops the watch: later output is not matched. */
    @Override
    public void close() {
        onClose.run();
    }
}
