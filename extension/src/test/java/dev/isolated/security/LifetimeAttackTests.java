package dev.isolated.security;

import static dev.isolated.security.Attacks.env;
import static dev.isolated.security.Attacks.hostProcesses;
import static dev.isolated.security.Attacks.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.Capabilities;
import dev.isolated.Command;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedEnvironmentBuilder;
import dev.isolated.IsolatedProcess;
import dev.isolated.LinuxNamespace;
import dev.isolated.Rlimit;
import dev.isolated.internal.helper.SharedHelper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Lifetime: processes that try to outlive their environment (daemons, unshared daemons, survivors of a killed
 * helper), pile up zombies, multiply, or sleep past the test. Each attack first sees its process running on the
 * host (the attack ran), then checks it is gone.
 */
@DisplayName("security: lifetime attacks")
class LifetimeAttackTests {

    private static void daemonDiesOnClose(IsolatedEnvironmentBuilder builder, String launch) {
        String marker = Attacks.marker();
        try (IsolatedEnvironment env = builder.start()) {
            sh(env, launch.replace("MARKER", marker));
            Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> !hostProcesses("sleep " + marker).isEmpty());
        }
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() -> hostProcesses("sleep " + marker).isEmpty());
    }

    @Test
    @DisplayName("a daemon that double-forks into a session of its own dies when the environment closes")
    void doubleForkDaemon() {
        daemonDiesOnClose(env(), "(setsid sleep MARKER </dev/null >/dev/null 2>&1 &) ");
    }

    @Test
    @DisplayName("a daemon that ignores SIGTERM, SIGHUP and SIGINT dies when the environment closes")
    void stubbornDaemon() {
        daemonDiesOnClose(env(), "(trap '' TERM HUP INT; setsid sleep MARKER </dev/null >/dev/null 2>&1 &) ");
    }

    @Test
    @DisplayName("with capabilities = ALL, a daemon that unshares a PID namespace of its own dies with its environment")
    void unsharedPidDaemon() {
        daemonDiesOnClose(
                env().capabilities(Capabilities.ALL),
                "(unshare -p -f -m -u -i -n setsid sleep MARKER </dev/null >/dev/null 2>&1 &) ");
    }

    @Test
    @DisplayName(
            "without PID, with capabilities = ALL, a daemon that unshares mount, UTS, IPC and network namespaces dies with its environment")
    void unsharedDaemonWithoutPid() {
        daemonDiesOnClose(
                env().namespaces(LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.IPC, LinuxNamespace.NET)
                        .capabilities(Capabilities.ALL),
                "(unshare -m -u -i -n setsid sleep MARKER </dev/null >/dev/null 2>&1 &) ");
    }

    @Test
    @DisplayName("a process started and left running (sleeping past the test) is killed at close")
    void sleepingPastTheTest() {
        IsolatedProcess sleep;
        try (IsolatedEnvironment env = env().start()) {
            sleep = env.start("sleep", "3600");
            assertThat(ProcessHandle.of(sleep.hostPid())).isPresent();
        }
        long pid = sleep.hostPid();
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
    }

    @Test
    @DisplayName("a command that never ends, ignoring SIGTERM, is killed at its timeout")
    void neverEnding() {
        String marker = Attacks.marker();
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = env.exec(
                    Command.of("sh", "-c", "echo probe-ran; trap '' TERM; while :; do sleep 1; done # " + marker)
                            .withTimeout(Duration.ofMillis(500)));
            assertThat(r.stdoutLines()).containsExactly("probe-ran");
            assertThat(r.timedOut()).isTrue();
            Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> hostProcesses(marker).isEmpty());
        }
    }

    @Test
    @DisplayName("orphans piling up as zombies are reaped by the environment's init")
    void zombies() {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = sh(
                    env,
                    "for i in $(seq 50); do (touch /tmp/z$i; sleep 0.01 &) ; done; sleep 0.5; "
                            + "echo orphans=$(ls /tmp | grep -c '^z'); echo zombies=$(ps -o stat | grep -c '^ *Z')");
            assertThat(r.stdoutLines()).as(r.toString()).contains("orphans=50", "zombies=0");
        }
    }

    @Test
    @DisplayName(
            "a fork bomb is bounded by the environment's limit (pids cgroup as root, RLIMIT_NPROC rootless) and leaves the JVM working")
    void forkBomb() {
        IsolatedEnvironmentBuilder builder = Attacks.root() ? env().pids(40) : env().rlimit(Rlimit.NPROC, 40);
        try (IsolatedEnvironment env = builder.start()) {
            // every fork counts, so the bomb counts its children with builtins only; the subshell dies at its first
            // refused fork
            ExecResult r = sh(
                    env,
                    "( i=0; while [ $i -lt 200 ]; do sleep 3 & i=$((i+1)); echo $i > /tmp/n; done ) 2>/tmp/err; "
                            + "echo bomb=$?");
            int spawned = Integer.parseInt(env.readString("/tmp/n").trim());
            assertThat(spawned).as(r.toString()).isBetween(10, 40);
            assertThat(env.readString("/tmp/err")).contains("fork");
        }
        try (IsolatedEnvironment next = env().start()) {
            assertThat(next.exec("true").exitCode()).isZero();
        }
    }

    @Test
    @DisplayName(
            "after a SIGKILL of the helper no daemon survives and no state directory stays; the next environment works")
    void helperKilled() {
        String marker = Attacks.marker();
        long helper = SharedHelper.get().pid();
        Path stateDir = stateDirOf(helper);
        IsolatedEnvironment env = env().start();
        sh(env, "(setsid sleep " + marker + " </dev/null >/dev/null 2>&1 &)");
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() -> !hostProcesses("sleep " + marker).isEmpty());
        ProcessHandle.of(helper).orElseThrow().destroyForcibly();
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> hostProcesses("sleep " + marker).isEmpty());
        assertThatThrownBy(() -> env.exec("true")).hasMessageContaining("died");
        env.close();
        try (IsolatedEnvironment next = env().start()) {
            assertThat(next.exec("true").exitCode()).isZero();
        }
        assertThat(stateDir)
                .as("the dead helper's state directory (its mount points), removed by the next helper")
                .doesNotExist();
    }

    private static Path stateDirOf(long pid) {
        try {
            String[] argv = Files.readString(Path.of("/proc/" + pid + "/cmdline"), StandardCharsets.UTF_8)
                    .split("\0");
            for (int i = 0; i + 1 < argv.length; i++) {
                if (argv[i].equals("--state-dir")) {
                    return Path.of(argv[i + 1]);
                }
            }
            throw new AssertionError("no --state-dir in " + String.join(" ", argv));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
