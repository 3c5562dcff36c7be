package dev.isolated.internal.env;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("output capture bound")
class BoundedOutputTests {

    @Test
    @DisplayName("keeps everything up to the bound, then the first and last halves and counts the rest")
    void headAndTail() {
        BoundedOutput out = new BoundedOutput(10);
        out.write(bytes("0123"));
        assertThat(text(out)).isEqualTo("0123");
        out.write(bytes("456789"));
        assertThat(text(out)).isEqualTo("0123456789");
        assertThat(out.dropped()).isZero();
        for (char c = 'a'; c <= 'z'; c++) {
            out.write(bytes(String.valueOf(c)));
        }
        assertThat(text(out)).isEqualTo("01234vwxyz");
        assertThat(out.dropped()).isEqualTo(26);
        out.write(bytes("ABCDEFGHIJKLMNOP")); // one chunk longer than the tail
        assertThat(text(out)).isEqualTo("01234LMNOP");
        assertThat(out.dropped()).isEqualTo(26 + 16);
    }

    @Test
    @DisplayName("a bound of 0 keeps nothing and counts everything")
    void zero() {
        BoundedOutput out = new BoundedOutput(0);
        out.write(bytes("abc"));
        assertThat(out.bytes()).isEmpty();
        assertThat(out.dropped()).isEqualTo(3);
    }

    @Test
    @DisplayName("lines: a line longer than the limit comes in pieces; nothing is lost")
    void longLines() {
        List<String> lines = new ArrayList<>();
        OutputLines split = new OutputLines(lines::add, 4);
        split.accept(bytes("ab\nabcdefghij"));
        split.accept(bytes("kl\nxy"));
        split.flush();
        assertThat(lines).containsExactly("ab", "abcd", "efgh", "ijkl", "xy");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String text(BoundedOutput out) {
        return new String(out.bytes(), StandardCharsets.US_ASCII);
    }
}
