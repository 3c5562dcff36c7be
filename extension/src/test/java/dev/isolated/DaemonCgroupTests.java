package dev.isolated;

import static dev.isolated.LinuxNamespace.IPC;
import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.UTS;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11: nothing outlives its environment. Without a PID namespace a daemon that unshares every namespace the
 * environment has is out of the namespaces' reach; the environment's cgroup still holds it.
 */
@DisplayName("a daemon that leaves every namespace of its environment")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DaemonCgroupTests {

    @Test
    @DisplayName("dies when its environment (without PID, capabilities = ALL) closes")
    void diesWithItsEnvironment() throws Exception {
        String seconds = HostSleepers.ownSeconds(11);
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(MOUNT, UTS, IPC, NET)
                .capabilities(Capabilities.ALL)
                .start()) {
            startEscapingDaemon(env, seconds);
            assertThat(HostSleepers.of(seconds))
                    .as("it runs on the host, in none of the environment's namespaces")
                    .singleElement()
                    .satisfies(pid ->
                            assertThat(namespaces(pid)).doesNotContainAnyElementsOf(namespaces(env.initHostPid())));
        }
        assertThat(HostSleepers.of(seconds))
                .as("sleep %s outlived its environment", seconds)
                .isEmpty();
    }

    /** Runs {@code unshare -m -u -i -n sh -c 'setsid sleep SECONDS &'} and waits until that sleep runs. */
    static void startEscapingDaemon(IsolatedEnvironment env, String seconds) throws IOException {
        ExecResult started = env.exec("unshare", "-m", "-u", "-i", "-n", "sh", "-c", "setsid sleep " + seconds + " &");
        assertThat(started.exitCode()).as("%s", started).isZero();
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() -> HostSleepers.of(seconds).size() == 1);
    }

    /** @return the mount, UTS, IPC and network namespaces of a process, e.g. {@code mnt:[4026531841]} */
    private static List<String> namespaces(long pid) throws IOException {
        List<String> links = new ArrayList<>();
        for (String kind : List.of("mnt", "uts", "ipc", "net")) {
            links.add(Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/" + kind))
                    .toString());
        }
        return links;
    }
}
