package dev.isolated;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Messages of README's "What errors mean" that no other class triggers whole, compared as a user reads them. */
@DisplayName("README's error messages, whole")
class ErrorMessagesTests {

    @Test
    @DisplayName("a bind source that does not exist, however long its path: the whole hint, up to its last words")
    void missingBindSourceOfALongPath(@TempDir Path dir) {
        Path missing = dir.resolve("a-directory-name-long-enough-to-fill-a-hint-".repeat(3) + "/source");
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .bind(missing, "/data")
                        .start()
                        .close())
                .isInstanceOf(EnvironmentSetupException.class)
                .hasMessage("Isolated environment setup failed at stage 'bind': stat " + missing + ": No such file or "
                        + "directory (ENOENT)\nHint: the bind source " + missing + " (for /data) does not exist on the "
                        + "host (or it is on a file system mounted after the helper started, which a root helper does "
                        + "not see where the host's / is not a shared mount: mount it first, or run mount "
                        + "--make-rshared /)");
    }
}
