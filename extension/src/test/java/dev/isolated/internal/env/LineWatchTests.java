package dev.isolated.internal.env;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("LineWatch: output lines matched once each, as they arrive")
class LineWatchTests {
    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    @DisplayName(
            "lines split across chunks are whole lines; each stream is split on its own; met completes at the n-th match")
    void chunksAndStreams() {
        LineWatch watch = new LineWatch(Pattern.compile("^ready$"), 2, 64 * 1024, () -> {});
        watch.accept(false, bytes("boot\nrea"));
        watch.accept(true, bytes("xx"));
        watch.accept(false, bytes("dy\r\nre"));
        assertThat(watch.seen()).isEqualTo(1);
        assertThat(watch.firstMatch()).contains("ready");
        assertThat(watch.met()).isNotDone();

        watch.accept(true, bytes("\nready"));
        assertThat(watch.seen()).isEqualTo(2); // the unterminated "ready" on stderr counts when asked
        assertThat(watch.met()).isNotDone(); // but completes met only once whole

        watch.accept(false, bytes("ady\n"));
        assertThat(watch.met()).isCompletedWithValue("ready");
        assertThat(watch.seen()).isEqualTo(3);
    }

    @Test
    @DisplayName("the last, unterminated line becomes a line at exit")
    void exitFlushes() {
        LineWatch watch = new LineWatch(Pattern.compile("done"), 1, 64 * 1024, () -> {});
        watch.accept(false, bytes("all done"));
        assertThat(watch.firstMatch()).contains("all done");
        assertThat(watch.met()).isNotDone();
        watch.exited();
        assertThat(watch.met()).isCompletedWithValue("all done");
        assertThat(watch.seen()).isEqualTo(1);
    }

    @Test
    @DisplayName("close runs the owner's removal")
    void close() {
        boolean[] removed = new boolean[1];
        new LineWatch(Pattern.compile("x"), 1, 64 * 1024, () -> removed[0] = true).close();
        assertThat(removed[0]).isTrue();
    }
}
