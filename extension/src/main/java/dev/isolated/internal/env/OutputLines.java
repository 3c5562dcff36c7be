package dev.isolated.internal.env;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/** Splits one output stream's chunks into lines for a consumer; the last, unterminated line is flushed at exit. */
final class OutputLines {
    private final Consumer<String> consumer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    OutputLines(Consumer<String> consumer) {
        this.consumer = consumer;
    }

    synchronized void accept(byte[] chunk) {
        int start = 0;
        for (int i = 0; i < chunk.length; i++) {
            if (chunk[i] == '\n') {
                pending.write(chunk, start, i - start);
                emit();
                start = i + 1;
            }
        }
        pending.write(chunk, start, chunk.length - start);
    }

    synchronized void flush() {
        if (pending.size() > 0) {
            emit();
        }
    }

    private void emit() {
        String line = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        consumer.accept(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
    }
}
