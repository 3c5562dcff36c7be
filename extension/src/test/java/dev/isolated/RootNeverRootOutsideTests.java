package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.USER;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, as real root: every environment has a user namespace mapping 0..65535 to a host range of its own,
 * so that root inside, even with {@link Capabilities#ALL}, holds nothing over the host or another environment.
 * Each test checks that its probe really ran (the command started, had its capabilities) and that the attack
 * failed.
 */
@DisplayName("as real root, root inside is never root outside")
class RootNeverRootOutsideTests {

    private static final long POOL_START = 1L << 30;

    @BeforeAll
    static void runsAsRoot() {
        assertThat(new com.sun.security.auth.module.UnixSystem().getUid() == 0)
                .as("these tests run as root, as CI does")
                .isTrue();
    }

    @Test
    @DisplayName(
            "uid_map and gid_map are `0 <base> 65536`, base 64K-aligned from 2^30, a range per environment; USER is listed although not asked for")
    void aRangeOfItsOwn() {
        try (IsolatedEnvironment a = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(PID, MOUNT)
                        .start();
                IsolatedEnvironment b = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(PID, MOUNT)
                        .start()) {
            long baseA = base(a);
            long baseB = base(b);

            assertThat(a.namespaces()).contains(USER);
            assertThat(List.of(baseA, baseB))
                    .allSatisfy(base -> assertThat(base)
                            .isBetween(POOL_START, (1L << 31) - 65536)
                            .matches(x -> x % 65536 == 0, "64K-aligned"));
            assertThat(Math.abs(baseA - baseB)).as("disjoint ranges").isGreaterThanOrEqualTo(65536);
            assertThat(a.exec("cat", "/proc/self/gid_map"))
                    .succeeded()
                    .stdout()
                    .isEqualTo(a.exec("cat", "/proc/self/uid_map").stdout());
        }
    }

    @Test
    @DisplayName("the image's files keep their owners inside (idmapped), and root inside writes them")
    void imageOwnersInside() {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "id -u; ls -ln /bin/busybox; ls -lnd /root; echo x >> /etc/passwd && tail -1 /etc/passwd"))
                    .succeeded()
                    .stdoutLines()
                    .satisfies(lines -> {
                        assertThat(lines.get(0)).isEqualTo("0");
                        assertThat(lines.get(1)).matches("-\\S+\\s+1\\s+0\\s+0\\s+.*/bin/busybox");
                        assertThat(lines.get(2)).matches("d\\S+\\s+\\d+\\s+0\\s+0\\s+.*/root");
                        assertThat(lines.get(3)).isEqualTo("x");
                    });
        }
    }

    @Test
    @DisplayName(
            "capabilities = ALL: a tmpfs mounts inside, but the clock, a cgroup v1 hierarchy (release_agent) and a fresh sysfs (even with its own NET) are refused")
    void allCapabilitiesHoldNothingOverTheHost() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(PID, MOUNT, UTS, NET)
                .capabilities(Capabilities.ALL)
                .start()) {
            ExecResult result = env.exec(
                    "sh",
                    "-c",
                    "grep CapEff /proc/self/status; mkdir -p /tmp/t /tmp/c /tmp/s; "
                            + "mount -t tmpfs t /tmp/t && echo tmpfs=ok; "
                            + "date -s 2001-01-01 >/dev/null; "
                            + "mount -t cgroup -o none,name=isolated-probe cgroup /tmp/c; echo cgroup=$?; "
                            + "mount -t sysfs sysfs /tmp/s; echo sysfs=$?");

            // host root may mount such a named v1 hierarchy (and write its release_agent); busybox's mount says
            // "permission denied" for EPERM and exits 1; its date prints the error but exits 0
            assertThat(result.stdoutLines())
                    .as(result.stderr())
                    .containsExactly("CapEff:\t000001fffff7ffff", "tmpfs=ok", "cgroup=1", "sysfs=1");
            assertThat(result.stderr())
                    .contains("can't set date: Operation not permitted")
                    .containsSubsequence("permission denied", "permission denied");
        }
    }

    @Test
    @DisplayName(
            "without PID, root inside with capabilities = ALL cannot kill a host root process (EPERM) and it survives")
    void cannotKillHostRoot() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "60").start();
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(MOUNT, UTS)
                .capabilities(Capabilities.ALL)
                .start()) {
            ExecResult result =
                    env.exec("sh", "-c", "kill -0 $$ && echo self=ok; kill -9 " + sleep.pid() + "; echo kill=$?");

            assertThat(result.stdoutLines()).containsExactly("self=ok", "kill=1");
            assertThat(result.stderr()).contains("Operation not permitted");
            assertThat(sleep.waitFor(200, TimeUnit.MILLISECONDS))
                    .as("the host's sleep survives")
                    .isFalse();
        } finally {
            sleep.destroyForcibly();
        }
    }

    @Test
    @DisplayName(
            "without PID, another environment's processes are out of reach: kill is EPERM, /proc is empty and cannot be mounted")
    void anotherEnvironmentIsOutOfReach() throws Exception {
        try (IsolatedEnvironment victim = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(MOUNT, UTS)
                        .start();
                IsolatedEnvironment attacker = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(MOUNT, UTS)
                        .capabilities(Capabilities.ALL)
                        .start()) {
            IsolatedProcess target = victim.start("sleep", "60");
            long pid = target.hostPid();

            ExecResult result = attacker.exec(
                    "sh",
                    "-c",
                    "kill -0 $$ && echo self=ok; kill -9 " + pid + "; echo kill=$?; "
                            + "ls /proc | wc -l; cat /proc/" + pid + "/root/etc/hostname; echo root=$?; "
                            + "mkdir -p /tmp/p; mount -t proc proc /tmp/p; echo proc=$?");

            assertThat(result.stdoutLines())
                    .as(result.stderr())
                    .containsExactly("self=ok", "kill=1", "0", "root=1", "proc=1");
            assertThat(result.stderr()).contains("Operation not permitted", "permission denied");
            assertThat(target.isAlive()).isTrue();
        }
    }

    private static long base(IsolatedEnvironment env) {
        String[] map = env.exec("cat", "/proc/self/uid_map").stdout().trim().split("\\s+");
        assertThat(map[0]).isEqualTo("0");
        assertThat(map[2]).isEqualTo("65536");
        return Long.parseLong(map[1]);
    }
}
