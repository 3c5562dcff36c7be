package dev.isolated.security;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.security.Attacks.env;
import static dev.isolated.security.Attacks.probe;
import static dev.isolated.security.Attacks.sh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Capabilities;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedProcess;
import dev.isolated.Seccomp;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Attacks of root inside with {@code capabilities = ALL} (and, where the filter would stop them first,
 * {@code seccomp = UNCONFINED}): what stops them is the user namespace every environment has, as real root
 * a host id range of its own (the i11-userns work), rootless the caller's. Without it, as real root, each of
 * these reaches the host.
 */
@DisplayName("security: root inside is never root outside")
class RootInsideAttackTests {

    @Test
    @DisplayName("capabilities = ALL: a cgroup v1 hierarchy (to write release_agent) cannot be mounted")
    void releaseAgent() {
        try (IsolatedEnvironment env = env().capabilities(Capabilities.ALL).start()) {
            ExecResult r = sh(
                    env,
                    "mkdir -p /tmp/t /tmp/c && mount -t tmpfs t /tmp/t && echo tmpfs=ok; "
                            + "mount -t cgroup -o none,name=isolated-attack cgroup /tmp/c; echo cgroup=$?; "
                            + "test -e /tmp/c/release_agent; echo agent=$?");
            assertThat(r.stdoutLines()).as(r.toString()).contains("tmpfs=ok", "cgroup=1", "agent=1");
        }
    }

    @Test
    @DisplayName("capabilities = ALL, with its own NET: a fresh sysfs (host sysctls, devices) cannot be mounted")
    void freshSysfs() {
        try (IsolatedEnvironment env = env().namespaces(PID, MOUNT, UTS, NET)
                .capabilities(Capabilities.ALL)
                .start()) {
            ExecResult r = sh(
                    env,
                    "mkdir -p /tmp/t /tmp/s && mount -t tmpfs t /tmp/t && echo tmpfs=ok; "
                            + "mount -t sysfs sysfs /tmp/s; echo sysfs=$?; ls /tmp/s | wc -l");
            assertThat(r.stdoutLines()).as(r.toString()).contains("tmpfs=ok", "sysfs=1", "0");
        }
    }

    @Test
    @DisplayName(
            "capabilities = ALL and seccomp = UNCONFINED: the wall clock cannot be set (EPERM from the kernel, not the filter)")
    void clock() {
        try (IsolatedEnvironment env =
                env().capabilities(Capabilities.ALL).seccomp(Seccomp.UNCONFINED).start()) {
            assertThat(sh(env, "grep -E '^(Seccomp|CapEff):' /proc/self/status").stdoutLines())
                    .contains("Seccomp:\t0", "CapEff:\t000001fffff7ffff");
            assertThat(probe(env, "settimeofday", "clock_settime"))
                    .containsExactly("settimeofday=EPERM", "clock_settime=EPERM", "probe-done");
        }
    }

    @Test
    @DisplayName("capabilities = ALL and seccomp = UNCONFINED: open_by_handle_at (Shocker) opens no host inode")
    void openByHandle() {
        try (IsolatedEnvironment env =
                env().capabilities(Capabilities.ALL).seccomp(Seccomp.UNCONFINED).start()) {
            List<String> lines = probe(env, "shocker");
            assertThat(lines.get(0))
                    .as("a handle of the root's filesystem is not opened")
                    .isNotEqualTo("shocker=ok")
                    .startsWith("shocker=E");
        }
    }

    @Test
    @DisplayName(
            "without PID, capabilities = ALL: a host root process cannot be killed (as root: a sleep of the JVM's; rootless: the host's init, signal 0)")
    void killHostRoot() throws Exception {
        try (IsolatedEnvironment env =
                env().namespaces(MOUNT, UTS).capabilities(Capabilities.ALL).start()) {
            if (Attacks.root()) {
                Process sleep = new ProcessBuilder("sleep", "60").start();
                try {
                    ExecResult r = sh(env, "kill -0 $$ && echo self=ok; kill -9 " + sleep.pid() + "; echo kill=$?");
                    assertThat(r.stdoutLines()).contains("self=ok", "kill=1");
                    assertThat(r.stderr()).contains("Operation not permitted");
                    assertThat(sleep.waitFor(200, TimeUnit.MILLISECONDS))
                            .as("the host's sleep survives")
                            .isFalse();
                } finally {
                    sleep.destroyForcibly();
                }
            } else {
                ExecResult r = sh(env, "kill -0 $$ && echo self=ok; kill -0 1; echo kill=$?");
                assertThat(r.stdoutLines()).contains("self=ok", "kill=1");
            }
        }
    }

    @Test
    @DisplayName(
            "without PID, capabilities = ALL: another environment's /proc/<pid>/root is out of reach; as root its processes too (rootless they share the caller's uid: the README's Security section says so)")
    void anotherEnvironmentsRoot() {
        try (IsolatedEnvironment victim = env().namespaces(MOUNT, UTS).start();
                IsolatedEnvironment attacker = env().namespaces(MOUNT, UTS)
                        .capabilities(Capabilities.ALL)
                        .start()) {
            victim.writeString("/tmp/victim-secret", "victim-secret\n");
            IsolatedProcess sleep = victim.start("sleep", "60");
            ExecResult r = sh(
                    attacker,
                    "cat /proc/" + sleep.hostPid() + "/root/tmp/victim-secret; echo root=$?; " + "kill -9 "
                            + sleep.hostPid() + "; echo kill=$?");
            assertThat(r.stdoutLines()).as(r.toString()).contains("root=1").doesNotContain("victim-secret");
            if (Attacks.root()) {
                assertThat(r.stdoutLines()).as(r.toString()).contains("kill=1");
                assertThat(sleep.isAlive()).isTrue();
            } else {
                // rootless every environment's root is the caller's uid on the host, and kill(2) between equal uids
                // needs no capability: leaving PID out gives this up (README, Security: what each opt-out gives up);
                // with PID (the default) CrossTalkAttackTests.killAnother is refused
                assertThat(r.stdoutLines()).as(r.toString()).contains("kill=0");
            }
        }
    }

    @Test
    @DisplayName("without PID, capabilities = ALL: a host process cannot be traced")
    void ptraceHost() throws Exception {
        Process sleep = new ProcessBuilder("sleep", "60").start();
        try (IsolatedEnvironment env =
                env().namespaces(MOUNT, UTS).capabilities(Capabilities.ALL).start()) {
            // rootless the sleep is the caller's own (same uid): the kernel lets a user trace its own processes,
            // so the rootless attack is on the host's init instead, which is root's
            long target = Attacks.root() ? sleep.pid() : 1;
            assertThat(probe(env, "ptrace=" + target)).contains("ptrace=EPERM");
        } finally {
            sleep.destroyForcibly();
        }
    }

    @Test
    @DisplayName(
            "without PID, capabilities = ALL: no way to the host's cgroupfs to leave the environment's cgroup (no /proc/<pid>/root, a cgroup2 mount shows its own subtree)")
    void cgroupEscape() {
        try (IsolatedEnvironment env = env().namespaces(MOUNT, UTS, dev.isolated.LinuxNamespace.CGROUP)
                .capabilities(Capabilities.ALL)
                .start()) {
            ExecResult r = sh(
                    env,
                    "echo procs=$(ls /proc | grep -c '^[0-9]'); cat /proc/1/root/sys/fs/cgroup/cgroup.procs; "
                            + "echo hostroot=$?; mkdir -p /tmp/cg && mount -t cgroup2 none /tmp/cg; echo mount=$?; "
                            + "echo others=$(ls /tmp/cg | grep -c '^isolated-'); echo $$ > /tmp/cg/cgroup.procs; echo move=$?");
            // no /proc of the host's processes, so no /proc/<pid>/root to the host's cgroupfs
            assertThat(r.stdoutLines()).as(r.toString()).contains("procs=0", "hostroot=1");
            if (Attacks.root()) {
                // a cgroup2 mounted inside is the environment's own subtree: no other environment's cgroup in it
                assertThat(r.stdoutLines()).as(r.toString()).contains("mount=0", "others=0");
            } else {
                // rootless without a delegated cgroup the environment has none of its own; what a cgroup2 mount
                // shows belongs to host root, and the process cannot move itself within it
                assertThat(r.stdoutLines()).as(r.toString()).contains("move=1");
            }
        }
    }
}
