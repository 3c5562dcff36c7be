package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class UnpackProgressTests {

    private static final long SECOND = 1_000_000_000L;
    private static final int MIB = 1024 * 1024;

    private final AtomicLong now = new AtomicLong(5 * SECOND);
    private final List<String> reports = new ArrayList<>();
    private final UnpackProgress progress = new UnpackProgress("app.tar", now::get, reports::add);

    @Test
    @DisplayName(
            "nothing is reported during the first second, then about once a second, the archive and then its layers")
    void reports() {
        progress.archive(10L * MIB);
        progress.add(MIB);
        now.addAndGet(SECOND / 2);
        progress.add(MIB);
        assertThat(reports).as("within the first second").isEmpty();

        now.addAndGet(SECOND / 2);
        progress.add(MIB);
        now.addAndGet(SECOND / 2);
        progress.add(MIB);
        assertThat(reports).containsExactly("Unpacking app.tar: 3.0 of 10.0 MiB of the archive read");

        progress.layers(3, 6L * MIB);
        now.addAndGet(SECOND);
        progress.add(2L * MIB);
        progress.layerDone();
        now.addAndGet(SECOND);
        progress.layerDone();
        assertThat(reports)
                .containsExactly(
                        "Unpacking app.tar: 3.0 of 10.0 MiB of the archive read",
                        "Unpacking app.tar: 2.0 of 6.0 MiB, 0 of 3 layers done",
                        "Unpacking app.tar: 2.0 of 6.0 MiB, 2 of 3 layers done");
    }
}
