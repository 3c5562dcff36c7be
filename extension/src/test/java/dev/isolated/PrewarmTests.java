package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.env.Environment;
import dev.isolated.internal.helper.SharedHelper;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("isolated.prewarm: environments built ahead of time")
class PrewarmTests {

    @AfterEach
    void reset() {
        System.clearProperty("isolated.prewarm");
        Environment.closeSpares();
    }

    @Test
    @DisplayName("the next environment of the same kind is the spare, with its own hostname and a fresh rootfs")
    void spareIsTakenWithItsHostname() {
        System.setProperty("isolated.prewarm", "true");
        long helperPid = SharedHelper.get().pid();
        try (IsolatedEnvironment first = IsolatedEnvironment.builder().rootfs("busybox.tar").hostname("first").start()) {
            first.exec("touch", "/etc/left-by-first");
        }
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> children(helperPid).size() == 1);
        long spareInit = children(helperPid).get(0);

        try (IsolatedEnvironment second = IsolatedEnvironment.builder().rootfs("busybox.tar").hostname("second")
                .start()) {
            assertThat(second.initHostPid()).isEqualTo(spareInit);
            assertThat(second.exec("hostname")).stdout().isEqualTo("second\n");
            assertThat(second).hostname().isEqualTo("second");
            assertThat(second.exec("test", "-e", "/etc/left-by-first")).exitedWith(1);
        }
    }

    @Test
    @DisplayName("without the property no spare is built")
    void offByDefault() {
        long helperPid = SharedHelper.get().pid();
        try (IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(env.exec("true")).succeeded();
        }
        assertThat(children(helperPid)).isEmpty();
    }

    private static List<Long> children(long pid) {
        return ProcessHandle.of(pid).orElseThrow().children().map(ProcessHandle::pid).toList();
    }
}
