package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.TestExecutionResult;

@DisplayName("isolated.keepOnFailure")
class KeepOnFailureTests {

    @Test
    @DisplayName("keeps a failed test's writable layer on disk and says where, deleted files marked")
    void keepsTheWritableLayer(@TempDir Path dir) throws Exception {
        var results = EngineRunner.run(FailingTestCase.class, Map.of("isolated.keepOnFailure", "true",
                "isolated.keepOnFailure.dir", dir.toString()));

        Throwable failure = results.testEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class).orElseThrow().getThrowable().orElseThrow())
                .findFirst().orElseThrow();
        String report = failure.getSuppressed()[0].getMessage();
        Matcher kept = Pattern.compile("Writable layer kept at (\\S+)").matcher(report);
        assertThat(kept.find()).as(report).isTrue();
        Path layer = Path.of(kept.group(1));
        assertThat(layer).startsWith(dir);
        assertThat(layer.resolve("etc/result.log")).content().isEqualTo("half-done\n");
        assertThat(layer.resolve("etc/group.deleted")).exists();
        assertThat(layer.resolve("bin")).doesNotExist();
    }

    @Test
    @DisplayName("keeps nothing when the test passes or the option is off")
    void keepsNothingOtherwise(@TempDir Path dir) throws Exception {
        EngineRunner.run(FailingTestCase.class, Map.of("isolated.keepOnFailure.dir", dir.toString()));

        try (var entries = Files.list(dir)) {
            assertThat(entries).isEmpty();
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class FailingTestCase {
        @Test
        void fails(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "echo half-done > /etc/result.log && rm /etc/group")).succeeded();
            assertThat(env.exec("false")).succeeded();
        }
    }
}
