package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An environment without a PID namespace has no init whose death kills everything: at CLOSE and at EOF of
 * its stdin the helper kills every process left in the env's own namespaces, also one that double-forked
 * away to the host's init, and nothing of the host's.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve without a PID namespace")
class HelperCloseWithoutPidNsTest {

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildRootfs() throws IOException {
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), List.of("sh", "sleep", "setsid", "echo"));
    }

    @Test
    @DisplayName("CLOSE kills a daemon that double-forked away, and no host process")
    void closeKillsDaemon() throws Exception {
        Process host = new ProcessBuilder("sleep", "7778").start();
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            startDaemon(server, "ns=mount,uts", "7771");

            assertThat(server.request('X', 3, "env=1")).hasType('a').hasId(3);

            assertGoneWithin1s("7771");
            assertThat(host.isAlive()).isTrue();
            assertThat(sleepers("7778")).containsExactly(host.pid());
        } finally {
            host.destroyForcibly().waitFor();
        }
    }

    @Test
    @DisplayName("EOF of stdin kills a daemon that double-forked away, and no host process")
    void stdinEofKillsDaemon() throws Exception {
        Process host = new ProcessBuilder("sleep", "7779").start();
        try {
            ProtocolClient server = new ProtocolClient(tmp.resolve("state"));
            startDaemon(server, "ns=mount", "7772");

            server.closeStdin();

            assertThat(server.process().waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(server.process().exitValue()).isZero();
            assertGoneWithin1s("7772");
            assertThat(host.isAlive()).isTrue();
        } finally {
            host.destroyForcibly().waitFor();
        }
    }

    /** CREATEs env 1 with {@code ns}, where SPAWN 2 leaves a {@code sleep SECONDS} reparented to the host's init. */
    private void startDaemon(ProtocolClient server, String ns, String seconds) throws Exception {
        server.create(1, "rootfs=" + rootfs, ns);
        assertThat(server.request('S', 2, "env=1", "arg=sh", "arg=-c", "arg=setsid sleep " + seconds + " & echo started"))
                .hasType('p');
        assertThat(server.stdoutUntilExit(2)).isEqualTo("started\n");
        // sh may exit before its background child exec()ed sleep.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (sleepers(seconds).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(sleepers(seconds)).as("the daemon runs on the host").hasSize(1);
    }

    private static void assertGoneWithin1s(String seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (!sleepers(seconds).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(sleepers(seconds)).as("sleep %s left on the host", seconds).isEmpty();
    }

    /** @return the pids of the host's processes whose command line is {@code sleep SECONDS} */
    private static List<Long> sleepers(String seconds) throws IOException {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            for (Path entry : (Iterable<Path>) entries::iterator) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String[] argv;
                try {
                    argv = new String(Files.readAllBytes(entry.resolve("cmdline")), UTF_8).split("\0");
                } catch (IOException gone) {
                    continue;
                }
                if (argv.length == 2 && argv[0].endsWith("sleep") && argv[1].equals(seconds)) {
                    found.add(Long.parseLong(name));
                }
            }
        }
        return found;
    }
}
