package dev.isolated.internal.env;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Splits one output stream's chunks into lines for a consumer; the last, unterminated line is flushed at exit.
 * A line longer than {@code longestLine} bytes is passed in pieces of that size, so memory stays bounded.
 */
final class OutputLines {
    private final Consumer<String> consumer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private final int longestLine;

    OutputLines(Consumer<String> consumer, int longestLine) {
        this.consumer = consumer;
        this.longestLine = longestLine;
    }

    synchronized void accept(byte[] chunk) {
        int start = 0;
        for (int i = 0; i < chunk.length; i++) {
            if (chunk[i] == '\n') {
                pending.write(chunk, start, i - start);
                emit();
                start = i + 1;
            } else if (pending.size() + i - start >= longestLine) {
                pending.write(chunk, start, i - start);
                emit();
                start = i;
            }
        }
        pending.write(chunk, start, chunk.length - start);
    }

    synchronized void flush() {
        if (pending.size() > 0) {
            emit();
        }
    }

    /** @return the unterminated last line so far, decoded (empty when the last byte was a newline) */
    synchronized String pending() {
        if (pending.size() == 0) {
            return "";
        }
        String line = pending.toString(StandardCharsets.UTF_8);
        return line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
    }

    private void emit() {
        String line = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        consumer.accept(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
    }
}
