package dev.isolated.internal.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.AwaitTimeoutException;
import dev.isolated.EnvironmentCleanupException;
import dev.isolated.EnvironmentSetupException;
import dev.isolated.ExecResult;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("PublicObjects makes the results and exceptions whose constructors are not public")
class PublicObjectsTests {

    @Test
    @DisplayName("each object is made with what it was given")
    void makes() {
        ExecResult result = PublicObjects.execResult(
                List.of("true"),
                0,
                OptionalInt.empty(),
                new byte[] {'o'},
                0,
                new byte[0],
                3,
                false,
                false,
                Duration.ofMillis(1));
        assertThat(result.stdout()).isEqualTo("o");
        assertThat(result.stderrDroppedBytes()).isEqualTo(3);

        EnvironmentSetupException setup =
                PublicObjects.setupException("mount-proc", "mount", "/proc", 1, "EPERM", "refused", "fix it", true);
        assertThat(setup.stage()).isEqualTo("mount-proc");
        assertThat(setup.hostCannot()).isTrue();
        assertThat(setup.errname()).isEqualTo("EPERM");
        assertThat(setup.hint()).isEqualTo("fix it");
        assertThat(setup).hasMessageContaining("stage 'mount-proc': mount /proc: refused");

        assertThat(PublicObjects.cleanupException("left"))
                .isInstanceOf(EnvironmentCleanupException.class)
                .hasMessage("left");
        assertThat(PublicObjects.awaitTimeout("late"))
                .isInstanceOf(AwaitTimeoutException.class)
                .hasMessage("late");
    }

    @Test
    @DisplayName("no other maker can be registered")
    void refusesOtherMakers() {
        PublicObjects.cleanupException("registers the real maker first");
        PublicObjects.Maker forger = new PublicObjects.Maker() {
            @Override
            public ExecResult execResult(
                    List<String> command,
                    int exitCode,
                    OptionalInt signal,
                    byte[] stdout,
                    long stdoutDroppedBytes,
                    byte[] stderr,
                    long stderrDroppedBytes,
                    boolean timedOut,
                    boolean oomKilled,
                    Duration duration) {
                return null;
            }

            @Override
            public EnvironmentSetupException setupException(
                    String stage,
                    String syscall,
                    String path,
                    int errno,
                    String errname,
                    String detail,
                    String hint,
                    boolean hostCannot) {
                return null;
            }

            @Override
            public EnvironmentCleanupException cleanupException(String message) {
                return null;
            }

            @Override
            public AwaitTimeoutException awaitTimeout(String message) {
                return null;
            }
        };

        assertThatThrownBy(() -> PublicObjects.register(forger))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("Only dev.isolated.PublicObjectMaker makes Isolated's results and exceptions");
        assertThat(PublicObjects.awaitTimeout("still the real one")).isNotNull();
    }
}
