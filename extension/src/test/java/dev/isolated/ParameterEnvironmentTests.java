package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * An environment declared on a parameter gets the mounts, limits, clock offsets and writable layer of its method and
 * class.
 */
@DisplayName("environments declared on parameters")
class ParameterEnvironmentTests {

    @Test
    @DisplayName(
            "honour the @Bind and @Tmpfs of their class and method, and @Limits, @ClockOffsets and @WritableLayer of "
                    + "their method")
    void honourTheTestsAnnotations() throws Exception {
        Path fixtures = Files.createDirectories(Paths.get("target/parameter-environment-fixtures"));
        Files.writeString(fixtures.resolve("input.txt"), "from the host\n");

        EngineRunner.assertAllSucceeded(EngineRunner.run(AnnotatedTestCase.class), 1);
    }

    @Isolated(rootfs = "busybox.tar")
    @Bind(source = "target/parameter-environment-fixtures", target = "/fixtures")
    static class AnnotatedTestCase {
        @Test
        @Tmpfs(target = "/scratch", sizeBytes = 1 << 20)
        @Limits(pids = 20)
        @ClockOffsets(boottimeSeconds = 30 * 86400)
        @WritableLayer(tmpfsSize = "8m")
        void test(@Isolated(hostname = "other") IsolatedEnvironment env) throws Exception {
            assertThat(env).hostname().isEqualTo("other");
            assertThat(env.exec("cat", "/fixtures/input.txt"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("from the host\n");
            assertThat(env).mounts().containsMount("/scratch", "tmpfs");
            assertThat(env.exec("df", "-k", "/").stdout())
                    .as("the method's @WritableLayer(tmpfsSize = \"8m\")")
                    .containsPattern("\\s8192\\s");

            double host = Double.parseDouble(
                    Files.readString(Paths.get("/proc/uptime")).split(" ")[0]);
            double inside =
                    Double.parseDouble(env.exec("cat", "/proc/uptime").stdout().split(" ")[0]);
            assertThat(inside - host).as("boottime 30 days ahead").isBetween(30 * 86400.0 - 5, 30 * 86400.0 + 5);

            ExecResult storm = env.exec("sh", "-c", "for i in $(seq 100); do sleep 300 & done 2>&1; echo done");
            assertThat(storm.stdout() + storm.stderr()).as("pids = 20").contains("can't fork");
            assertThat(env.resourceUsage().processes()).isLessThanOrEqualTo(20);
        }
    }
}
