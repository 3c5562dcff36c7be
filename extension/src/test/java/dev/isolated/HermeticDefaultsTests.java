package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.image.ImageBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11's attacks, through the public API: a hostile payload ({@code src/test/c/hermetic-probe.c}, compiled
 * here with gcc and added to busybox) tries keyrings, bpf, perf events, userfaultfd, modules, kexec,
 * open_by_handle_at, io_uring, TIOCSTI, new user namespaces, the chroot escape and raw sockets. Every check also
 * asserts the probe's {@code probe-done} line: a probe that did not run is a failure, never a pass.
 */
@DisplayName("hermetic by default")
class HermeticDefaultsTests {
    private static final Path SOURCE = Path.of("src/test/c/hermetic-probe.c").toAbsolutePath();

    @TempDir
    static Path dir;

    static String image;
    static Path hostProbe;

    @BeforeAll
    static void buildProbeImage() throws Exception {
        hostProbe = dir.resolve("probe");
        Process gcc = new ProcessBuilder(
                        "gcc", "-static", "-O2", "-Wall", "-Werror", "-o", hostProbe.toString(), SOURCE.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(gcc.waitFor())
                .as("gcc -static %s (needs libc6-dev): %s", SOURCE, output)
                .isZero();
        image = ImageBuilder.from("busybox.tar")
                .addStaticBinary(hostProbe, "/probe")
                .build()
                .toString();
    }

    private static IsolatedEnvironmentBuilder builder() {
        return IsolatedEnvironment.builder().rootfs(image);
    }

    /** Runs the probe; asserts it ran to the end; returns its {@code NAME=RESULT} lines. */
    private static List<String> probe(CommandRunner env, String... attempts) {
        List<String> argv = new ArrayList<>(List.of("/probe"));
        argv.addAll(List.of(attempts));
        ExecResult result = env.exec(argv.toArray(String[]::new));
        assertThat(result).succeeded();
        assertThat(result.stdoutLines()).as("the probe ran every attempt").endsWith("probe-done");
        return result.stdoutLines();
    }

    private static final String[] KERNEL_INTERFACES = {
        "add_key",
        "keyctl",
        "request_key",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "init_module",
        "kexec_load",
        "open_by_handle_at",
        "io_uring_setup",
        "reboot",
        "tiocsti",
        "alg-socket"
    };

    @Nested
    @DisplayName("the default seccomp filter")
    class DefaultFilter {

        @Test
        @DisplayName(
                "refuses keyrings, bpf, perf events, userfaultfd, modules, kexec, open_by_handle_at, io_uring, reboot, TIOCSTI, AF_ALG with EPERM")
        void refusesKernelInterfaces() {
            try (IsolatedEnvironment env = builder().start()) {
                List<String> lines = probe(env, KERNEL_INTERFACES);
                for (String attempt : KERNEL_INTERFACES) {
                    assertThat(lines).contains(attempt + "=EPERM");
                }
                assertThat(env.exec("grep", "^Seccomp:", "/proc/self/status"))
                        .stdout()
                        .isEqualTo("Seccomp:\t2\n");
            }
        }

        @Test
        @DisplayName(
                "with Docker's capabilities refuses a new user namespace (unshare, clone); with ALL root can still mount and unshare")
        void namespacesFollowCapabilities() {
            try (IsolatedEnvironment docker = builder().start();
                    IsolatedEnvironment all =
                            builder().capabilities(Capabilities.ALL).start()) {
                assertThat(probe(docker, "unshare-user")).contains("unshare-user=EPERM");
                assertThat(docker.exec("unshare", "-U", "true")).failed();

                assertThat(all.exec("sh", "-c", "mkdir /m && mount -t tmpfs t /m && unshare -m -U true && echo ok"))
                        .succeeded()
                        .stdout()
                        .isEqualTo("ok\n");
                assertThat(probe(all, "bpf", "keyctl")).contains("bpf=EPERM", "keyctl=EPERM");
            }
        }

        @Test
        @DisplayName("applies to a ProcessBuilder's process too")
        void processBuilder() throws Exception {
            try (IsolatedEnvironment env = builder().start()) {
                Process p = env.processBuilder("/probe", "keyctl", "bpf")
                        .redirectErrorStream(true)
                        .start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor()).as(out).isZero();
                assertThat(out).isEqualTo("keyctl=EPERM\nbpf=EPERM\nprobe-done\n");
            }
        }

        @Test
        @DisplayName("stacks with a filter of one's own")
        void stacksWithOwnFilter() throws Exception {
            Path filter = java.nio.file.Files.write(dir.resolve("no-mkdir.bpf"), SeccompFilters.denyMkdir());
            try (IsolatedEnvironment env = builder().seccompFilter(filter).start()) {
                assertThat(env.exec("mkdir", "/tmp/x")).failed().stderr().contains("Operation not permitted");
                assertThat(probe(env, "keyctl")).contains("keyctl=EPERM");
                assertThat(env.exec("grep", "^Seccomp_filters:", "/proc/self/status"))
                        .stdout()
                        .isEqualTo("Seccomp_filters:\t2\n");
            }
        }

        @Test
        @DisplayName("lets the normal workload run: sh, ps, pipes, threads of glibc programs")
        void normalWorkload() {
            try (IsolatedEnvironment env = builder().start()) {
                assertThat(env.exec("sh", "-c", "ps -o pid,comm | grep -c init; echo a | tr a b; sleep 0.01 & wait"))
                        .succeeded()
                        .stdout()
                        .isEqualTo("1\nb\n");
            }
        }
    }

    @Nested
    @DisplayName("seccomp = UNCONFINED")
    class Unconfined {

        @Test
        @DisplayName(
                "opts out: keyctl, add_key work and TIOCSTI reaches the kernel (ENOTTY on a pipe), no filter is set")
        void optsOut() {
            try (IsolatedEnvironment env = builder().seccomp(Seccomp.UNCONFINED).start()) {
                assertThat(probe(env, "keyctl", "add_key", "tiocsti"))
                        .contains("keyctl=ok", "add_key=ok", "tiocsti=ENOTTY");
                assertThat(env.exec("grep", "^Seccomp:", "/proc/self/status"))
                        .stdout()
                        .isEqualTo("Seccomp:\t0\n");
            }
        }

        @Test
        @DisplayName(
                "each command still has a session keyring of its own: not the host's (the JVM's), not another command's or environment's")
        void freshSessionKeyrings() throws Exception {
            Process host = new ProcessBuilder(hostProbe.toString(), "keyring").start();
            String hostLine = new String(host.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                    .lines()
                    .findFirst()
                    .orElseThrow();
            assertThat(host.waitFor()).isZero();
            assertThat(hostLine).as("the host's session keyring").matches("keyring=\\d+");

            Set<String> seen = new HashSet<>(Set.of(hostLine));
            try (IsolatedEnvironment a = builder().seccomp(Seccomp.UNCONFINED).start();
                    IsolatedEnvironment b =
                            builder().seccomp(Seccomp.UNCONFINED).start()) {
                for (CommandRunner env : List.of(a, a, b)) {
                    String line = probe(env, "keyring").get(0);
                    assertThat(line).matches("keyring=\\d+");
                    assertThat(seen.add(line))
                            .as("%s is new (seen: %s)", line, seen)
                            .isTrue();
                }
            }
        }

        @Test
        @DisplayName(
                "root inside has a user keyring of its own, not host root's, also without USER in the namespaces asked for")
        void userKeyringIsNotHostRoots() throws Exception {
            Process host = new ProcessBuilder(hostProbe.toString(), "user-keyring").start();
            String hostLine = new String(host.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                    .lines()
                    .findFirst()
                    .orElseThrow();
            assertThat(host.waitFor()).isZero();
            assertThat(hostLine).as("host root's user keyring").matches("user-keyring=\\d+");

            try (IsolatedEnvironment env = builder()
                    .seccomp(Seccomp.UNCONFINED)
                    .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT)
                    .start()) {
                String line = probe(env, "user-keyring").get(0);
                assertThat(line).matches("user-keyring=\\d+").isNotEqualTo(hostLine);
            }
        }
    }

    @Isolated(rootfs = "busybox.tar")
    @Test
    @DisplayName("@Isolated(seccomp = UNCONFINED) opts out; the annotation's default is the filter")
    void annotation(
            IsolatedEnvironment confined, @Isolated(seccomp = Seccomp.UNCONFINED) IsolatedEnvironment unconfined) {
        assertThat(unconfined.exec("grep", "^Seccomp:", "/proc/self/status"))
                .stdout()
                .isEqualTo("Seccomp:\t0\n");
        assertThat(confined.exec("grep", "^Seccomp:", "/proc/self/status"))
                .stdout()
                .isEqualTo("Seccomp:\t2\n");
    }

    @Test
    @DisplayName(
            "rootless (uid 65534): the filter and the capability drop apply; with ALL root still mounts and unshares")
    void rootless(@TempDir Path scratch) throws Exception {
        List<String> lines = NobodyJvm.runFixture(scratch, RootlessCase.class);

        assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class RootlessCase {
        @Test
        @Isolated(rootfs = "busybox.tar")
        void dockerDefault(IsolatedEnvironment env) {
            assertThat(env.exec("grep", "-E", "^(CapBnd|Seccomp):", "/proc/self/status"))
                    .stdout()
                    .isEqualTo("CapBnd:\t00000000a80425fb\nSeccomp:\t2\n"); // the default namespaces include NET
            assertThat(env.exec("unshare", "-U", "true")).failed().stderr().contains("Operation not permitted");
        }

        @Test
        @Isolated(rootfs = "busybox.tar", capabilities = Capabilities.ALL)
        void all(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "mkdir /m && mount -t tmpfs t /m && unshare -m true && echo ok"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("ok\n");
        }
    }

    @Nested
    @DisplayName("a namespace left out takes its capability along")
    class LeftOutNamespaces {

        @Test
        @DisplayName(
                "without MOUNT (a plain chroot) root cannot chroot: the classic escape fails, with either capability set")
        void noChrootWithoutMount() {
            for (Capabilities caps : Capabilities.values()) {
                try (IsolatedEnvironment env = builder()
                        .namespaces(LinuxNamespace.PID, LinuxNamespace.UTS, LinuxNamespace.IPC)
                        .capabilities(caps)
                        .start()) {
                    List<String> lines = probe(env, "capbnd", "chroot-escape");
                    assertThat(lines.get(1)).as(caps.name()).isEqualTo("chroot=EPERM");
                    assertThat(capabilityMask(lines.get(0)) & (1L << 18))
                            .as("CAP_SYS_CHROOT (18) in %s", lines.get(0))
                            .isZero();
                    assertThat(capabilityMask(lines.get(0)) & (1L << 0))
                            .as("CAP_CHOWN stays")
                            .isNotZero();
                }
            }
        }

        @Test
        @DisplayName("with MOUNT root may chroot (and only lands in its own root)")
        void chrootWithMount() {
            try (IsolatedEnvironment env = builder().start()) {
                assertThat(probe(env, "chroot-escape")).containsExactly("chroot=ok", "chroot-dot=ok", "probe-done");
            }
        }

        @Test
        @DisplayName(
                "without NET no raw or packet socket (no sniffing the host's loopback), with either capability set; with NET they work")
        void noRawSocketsWithoutNet() {
            for (Capabilities caps : Capabilities.values()) {
                try (IsolatedEnvironment env = builder()
                        .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.IPC)
                        .capabilities(caps)
                        .start()) {
                    assertThat(probe(env, "packet-socket", "raw-socket"))
                            .as(caps.name())
                            .contains("packet-socket=EPERM", "raw-socket=EPERM");
                    String bounding = probe(env, "capbnd").get(0);
                    assertThat(capabilityMask(bounding) & (3L << 12))
                            .as("NET_ADMIN (12), NET_RAW (13) in %s", bounding)
                            .isZero();
                }
            }
            try (IsolatedEnvironment env = builder()
                    .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.NET)
                    .start()) {
                assertThat(probe(env, "packet-socket", "raw-socket")).contains("packet-socket=ok", "raw-socket=ok");
                assertThat(env.exec("grep", "^CapEff:", "/proc/self/status"))
                        .stdout()
                        .isEqualTo("CapEff:\t00000000a80425fb\n");
            }
        }

        @Test
        @DisplayName(
                "a command entering an environment with NET but not joining NET (so in the host's network) has no NET_RAW either")
        void enterWithoutNet() {
            try (IsolatedEnvironment env = builder()
                    .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.NET)
                    .start()) {
                assertThat(probe(env.enter(LinuxNamespace.PID, LinuxNamespace.MOUNT), "packet-socket", "raw-socket"))
                        .contains("packet-socket=EPERM", "raw-socket=EPERM");
                assertThat(probe(
                                env.enter(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.NET),
                                "packet-socket"))
                        .contains("packet-socket=ok");
            }
        }

        @Test
        @DisplayName(
                "Docker's set with the default namespaces (NET among them) is Docker's 14; without NET minus NET_RAW")
        void defaultSet() {
            try (IsolatedEnvironment env = builder().start()) {
                assertThat(env.exec("grep", "-E", "^Cap(Eff|Bnd):", "/proc/self/status"))
                        .stdout()
                        .isEqualTo("CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n");
            }
            try (IsolatedEnvironment env = builder()
                    .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.IPC)
                    .start()) {
                assertThat(env.exec("grep", "-E", "^Cap(Eff|Bnd):", "/proc/self/status"))
                        .stdout()
                        .isEqualTo("CapEff:\t00000000a80405fb\nCapBnd:\t00000000a80405fb\n");
            }
        }
    }

    private static long capabilityMask(String probeLine) {
        return Long.parseUnsignedLong(
                probeLine.substring(probeLine.indexOf('=') + 1).trim(), 16);
    }
}
