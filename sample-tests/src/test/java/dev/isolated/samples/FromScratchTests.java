package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Walk-through step 2: a FROM-scratch image holds a single static binary, and that is all there is. */
@Isolated(rootfs = "hello.tar")
class FromScratchTests {

    @Test
    void helloPrintsHelloWorld(IsolatedEnvironment env) {
        assertThat(env.exec("/hello")).succeeded().stdout().isEqualTo("Hello, World\n");
    }

    @Test
    void theRootHoldsOnlyHelloAndWhatTheHelperMounts(IsolatedEnvironment env) throws IOException {
        // The image has no ls; look at the environment's root from the host instead.
        Path root = Paths.get("/proc", Long.toString(env.initHostPid()), "root");
        try (Stream<Path> entries = Files.list(root)) {
            assertThat(entries.map(p -> p.getFileName().toString()).collect(Collectors.toSet()))
                    .containsExactlyInAnyOrder("hello", "proc", "dev", "tmp");
        }
    }

    @Test
    void thereIsNoShellToRun(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "echo hi")).exitedWith(127).stderr().contains("not found");
    }
}
