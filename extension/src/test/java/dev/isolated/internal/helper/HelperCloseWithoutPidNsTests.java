package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.CLOSE;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.HostSleepers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An environment without a PID namespace has no init whose death kills everything: at CLOSE and at EOF of
 * its stdin the helper kills every process left in the env's own namespaces, also one that double-forked
 * away to the host's init, and nothing of the host's. Each env has a cgroup of its own (issue 11), so that also
 * a daemon that left every one of the env's namespaces dies, even when the helper itself was SIGKILLed: the
 * next helper kills what its env cgroups still hold.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve without a PID namespace")
class HelperCloseWithoutPidNsTests {

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildRootfs() throws IOException {
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), List.of("sh", "sleep", "setsid", "echo", "unshare"));
    }

    @Test
    @DisplayName("CLOSE kills a daemon that double-forked away, and no host process")
    void closeKillsDaemon() throws Exception {
        Process host = new ProcessBuilder("sleep", HostSleepers.ownSeconds(8)).start();
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            startDaemon(server, "ns=mount,uts", HostSleepers.ownSeconds(1));

            assertThat(server.request(CLOSE, 3, "env=1")).hasType(ACK).hasId(3);

            assertGoneSoon(HostSleepers.ownSeconds(1));
            assertThat(host.isAlive()).isTrue();
            assertThat(HostSleepers.of(HostSleepers.ownSeconds(8))).containsExactly(host.pid());
        } finally {
            host.destroyForcibly().waitFor();
        }
    }

    @Test
    @DisplayName("EOF of stdin kills a daemon that double-forked away, and no host process")
    void stdinEofKillsDaemon() throws Exception {
        Process host = new ProcessBuilder("sleep", HostSleepers.ownSeconds(9)).start();
        try {
            ProtocolClient server = new ProtocolClient(tmp.resolve("state"));
            startDaemon(server, "ns=mount", HostSleepers.ownSeconds(2));

            server.closeStdin();

            assertThat(server.process().waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(server.process().exitValue()).isZero();
            assertGoneSoon(HostSleepers.ownSeconds(2));
            assertThat(host.isAlive()).isTrue();
        } finally {
            host.destroyForcibly().waitFor();
        }
    }

    @Test
    @DisplayName("CLOSE kills a daemon that left every namespace of the env (its cgroup holds it), and its cgroup goes")
    void closeKillsDaemonOutsideTheNamespaces() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Path cgroup = Path.of(field(
                    startDaemon(
                            server,
                            "ns=mount,uts",
                            "caps=all",
                            "unshare -m -u setsid sleep " + HostSleepers.ownSeconds(3)),
                    "kill-cgroup"));
            assertThat(cgroup).isDirectory();
            assertThat(HostSleepers.of(HostSleepers.ownSeconds(3)))
                    .as("left the env's namespaces: the namespace scan cannot find it")
                    .allSatisfy(
                            pid -> assertThat(namespacesOf(pid)).doesNotContainAnyElementsOf(namespacesOf(initPid)));

            assertThat(server.request(CLOSE, 3, "env=1")).hasType(ACK).hasId(3);

            assertGoneSoon(HostSleepers.ownSeconds(3));
            assertThat(cgroup).doesNotExist();
        }
    }

    @Test
    @DisplayName("after a SIGKILL of the helper, the next helper kills the daemon left in a dead helper's env cgroup")
    void nextHelperKillsWhatADeadOneLeft() throws Exception {
        ProtocolClient killed = new ProtocolClient(tmp.resolve("state"));
        Path cgroup = Path.of(field(
                startDaemon(
                        killed, "ns=mount,uts", "caps=all", "unshare -m -u setsid sleep " + HostSleepers.ownSeconds(4)),
                "kill-cgroup"));

        // Waits for the killed helper's identity lock and holds it: a helper of any other test run on this machine
        // (they share /run/isolated/helpers) would otherwise sweep its cgroup, and kill the daemon, before ours does.
        String name = cgroup.getFileName().toString(); // isolated-<pid>-<token>-<id>
        Path identityLock = Path.of(
                "/run/isolated/helpers", name.substring("isolated-".length(), name.lastIndexOf('-')) + ".helper-lock");
        assertThat(identityLock).exists();
        Process lockWaiter = new ProcessBuilder("flock", identityLock.toString(), "sh", "-c", "echo locked; exec cat")
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try {
            killed.process().destroyForcibly().waitFor(); // SIGKILL: no CLOSE, no EOF handling
            assertThat(new String(lockWaiter.getInputStream().readNBytes(7), java.nio.charset.StandardCharsets.UTF_8))
                    .isEqualTo("locked\n");
            Awaitility.await()
                    .during(Duration.ofMillis(200))
                    .atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(HostSleepers.of(HostSleepers.ownSeconds(4)))
                            .as("nothing but a helper kills it")
                            .hasSize(1));
            assertThat(cgroup).isDirectory();
        } finally {
            lockWaiter.getOutputStream().close(); // the lock goes: the next helper may sweep
            if (!lockWaiter.waitFor(10, TimeUnit.SECONDS)) {
                lockWaiter.destroyForcibly(); // still waiting for the lock: the helper did not die
            }
        }

        try (ProtocolClient next = new ProtocolClient(tmp.resolve("state-next"))) {
            assertGoneSoon(HostSleepers.ownSeconds(4));
            assertThat(cgroup).doesNotExist();
            assertThat(next.process().isAlive()).isTrue();
        }
    }

    private long initPid;

    /** CREATEs env 1 with {@code ns}, where SPAWN 2 leaves a {@code sleep SECONDS} reparented to the host's init. */
    private void startDaemon(ProtocolClient server, String ns, String seconds) throws Exception {
        startDaemon(server, ns, "caps=default", "setsid sleep " + seconds);
    }

    /**
     * CREATEs env 1 with {@code ns} and {@code caps}, where SPAWN 2 runs {@code DAEMON &} (its last word the
     * seconds of a {@code sleep} that ends up reparented to the host's init).
     *
     * @return the CREATED record
     */
    private Fields startDaemon(ProtocolClient server, String ns, String caps, String daemon) throws Exception {
        String seconds = daemon.substring(daemon.lastIndexOf(' ') + 1);
        Fields created = server.create(1, "rootfs=" + rootfs, ns, caps);
        initPid = Long.parseLong(field(created, "pid"));
        assertThat(server.request(SPAWN, 2, "env=1", "arg=sh", "arg=-c", "arg=" + daemon + " & echo started"))
                .hasType(SPAWNED);
        assertThat(server.stdoutUntilExit(2)).isEqualTo("started\n");
        // sh may exit before its background child exec()ed sleep.
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(HostSleepers.of(seconds))
                        .as("the daemon runs on the host")
                        .isNotEmpty());
        assertThat(HostSleepers.of(seconds)).as("the daemon runs on the host").hasSize(1);
        return created;
    }

    /** @return the namespace links ({@code mnt:[4026...]}) of a process, user and pid left out (never unshared here) */
    private static List<String> namespacesOf(long pid) throws IOException {
        List<String> links = new ArrayList<>();
        for (String kind : List.of("mnt", "uts")) {
            links.add(Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/" + kind))
                    .toString());
        }
        return links;
    }

    /** Waits until {@code sleep SECONDS} is gone: 10 s at the most, a bound under load, no promise of speed. */
    private static void assertGoneSoon(String seconds) throws Exception {
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(HostSleepers.of(seconds))
                        .as("sleep %s left on the host", seconds)
                        .isEmpty());
    }
}
