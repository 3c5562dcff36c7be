package dev.isolated.security;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static dev.isolated.security.Attacks.env;
import static dev.isolated.security.Attacks.probe;
import static dev.isolated.security.Attacks.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.Capabilities;
import dev.isolated.Command;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Privilege: root inside an environment with the defaults (Docker's capabilities, the built-in seccomp filter,
 * no_new_privs) tries the kernel interfaces that act on the whole machine. Each row is one attack, run by
 * {@code /probe} (hermetic-probe.c), which must print {@code probe-done}.
 */
@DisplayName("security: privilege attacks")
class PrivilegeAttackTests {

    @ParameterizedTest(name = "{0} fails with EPERM")
    @DisplayName("a kernel interface that acts on the whole machine")
    @ValueSource(
            strings = {
                "add_key",
                "keyctl",
                "request_key",
                "bpf",
                "perf_event_open",
                "userfaultfd",
                "init_module",
                "finit_module",
                "delete_module",
                "kexec_load",
                "io_uring_setup",
                "reboot",
                "settimeofday",
                "clock_settime",
                "iopl",
                "ioperm",
                "swapon",
                "syslog",
                "acct",
                "personality",
                "unshare-user",
                "sethostname",
                "alg-socket"
            })
    void kernelInterface(String attempt) {
        try (IsolatedEnvironment env = env().start()) {
            boolean x86 = System.getProperty("os.arch").matches("amd64|x86_64");
            if (attempt.startsWith("io") && attempt.length() <= 6 && !x86) {
                // iopl/ioperm exist on x86 only: the probe is built without them and says EINVAL
                assertThat(probe(env, attempt))
                        .as("this host (%s) has no %s", System.getProperty("os.arch"), attempt)
                        .contains(attempt + "=EINVAL");
                return;
            }
            assertThat(probe(env, attempt)).contains(attempt + "=EPERM");
        }
    }

    @Test
    @DisplayName(
            "a set-uid-root copy of busybox run by user 1000 stays uid 1000 (no_new_privs); rootless, where only 0 is mapped, no_new_privs is set")
    void setUidBinaryGainsNothing() {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult made = sh(
                    env,
                    "mkdir /sid && cp /bin/busybox /sid/id && chmod 4755 /sid/id && ln /sid/id /sid/grep && stat -c %a /sid/grep; grep NoNewPrivs /proc/self/status");
            assertThat(made.stdoutLines()).contains("4755", "NoNewPrivs:\t1");
            if (Attacks.root()) {
                ExecResult asUser =
                        env.exec(Command.of("sh", "-c", "echo ran; /sid/id -u; /sid/grep ^CapEff /proc/self/status")
                                .withUser(1000, 1000));
                assertThat(asUser.stdoutLines())
                        .as(asUser.toString())
                        .containsExactly("ran", "1000", "CapEff:\t0000000000000000");
            }
        }
    }

    @Test
    @DisplayName("user 1000 inside has no capabilities, and `su`/`setpriv` back to root fails")
    void unprivilegedUserStaysUnprivileged() {
        if (!Attacks.root()) {
            // rootless with the default mapping only uid 0 exists inside: switching to 1000 is refused, so the
            // attack's starting point (an unprivileged user inside) cannot exist
            try (IsolatedEnvironment env = env().start()) {
                assertThat(sh(env, "id -u").stdoutLines()).contains("0");
                assertThatThrownBy(() -> env.exec(Command.of("id", "-u").withUser(1000, 1000)))
                        .hasMessageContaining("gid 1000 is not mapped");
            }
            return;
        }
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = env.exec(Command.of(
                            "sh",
                            "-c",
                            "echo probe-ran; grep ^CapEff /proc/self/status; "
                                    + "setpriv --reuid=0 id -u; echo setpriv=$?; su -c 'id -u' root </dev/null; echo su=$?; echo probe-done")
                    .withUser(1000, 1000));
            assertThat(r.stdoutLines())
                    .as(r.toString())
                    .containsSubsequence("probe-ran", "CapEff:\t0000000000000000")
                    .contains("setpriv=1", "probe-done")
                    .doesNotContain("0");
            assertThat(r.stdoutLines().stream().filter(l -> l.startsWith("su=")))
                    .doesNotContain("su=0");
        }
    }

    @Test
    @DisplayName(
            "the environment's init (unfiltered, every capability of its namespace) cannot be traced, its environment, descriptors, cwd and root not read")
    void initOutOfReach() {
        try (IsolatedEnvironment env = env().start()) {
            assertThat(sh(env, "grep -E '^Seccomp:' /proc/1/status").stdoutLines())
                    .as("the target: init runs without the filter")
                    .contains("Seccomp:\t0");
            assertThat(probe(
                            env,
                            "ptrace=1",
                            "cat=/proc/1/environ",
                            "open=/proc/1/root",
                            "open=/proc/1/cwd",
                            "open=/proc/self/cwd"))
                    .containsExactly(
                            "ptrace=EPERM", "cat=EACCES", "open=EACCES", "open=EACCES", "open=ok", "probe-done");
            assertThat(sh(env, "for f in /proc/1/fd/*; do readlink $f; done 2>/dev/null | wc -l")
                            .stdoutLines())
                    .as("none of init's descriptors can be followed")
                    .contains("0");
        }
    }

    @Test
    @DisplayName(
            "capabilities = ALL: the environment's init stays out of reach (no SYS_PTRACE), as real root and rootless")
    void initWithAllCapabilities() {
        try (IsolatedEnvironment env = env().capabilities(Capabilities.ALL).start()) {
            List<String> lines = probe(env, "ptrace=1", "cat=/proc/1/environ", "open=/proc/1/root");
            // init holds every capability of the namespace and no seccomp filter; ALL leaves out SYS_PTRACE, so
            // root inside holds no superset of init's (rootless, init is dumpable: the capability check decides)
            assertThat(lines).containsExactly("ptrace=EPERM", "cat=EACCES", "open=EACCES", "probe-done");
        }
    }

    @Test
    @DisplayName("a command still traces its own processes (strace works), with either capability set, as the "
            + "Capabilities and Seccomp Javadoc say")
    void tracesItsOwnChild() {
        for (Capabilities caps : Capabilities.values()) {
            try (IsolatedEnvironment env = env().capabilities(caps).start()) {
                assertThat(env.exec("sh", "-c", "sleep 30 & exec /probe ptrace=$!"))
                        .as("%s", caps)
                        .succeeded()
                        .stdout()
                        .isEqualTo("ptrace=ok\nprobe-done\n");
            }
        }
    }
}
