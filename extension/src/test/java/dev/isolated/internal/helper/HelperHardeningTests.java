package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.SeccompFilters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code isolated-helper run}'s hardening: no_new_privs, capabilities, rlimits, seccomp, ids and
 * umask, as the command inside sees them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper")
class HelperHardeningTests extends AbstractHelperCliTests {

    @Nested
    @DisplayName("hardening")
    class Hardening {

        @Test
        @DisplayName("no_new_privs is always set; by default root keeps every capability (mount works), core size is 0")
        void defaults() throws Exception {
            Result result = run(
                    "sh",
                    "-c",
                    "grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; ulimit -c; "
                            + "mkdir /tmp/m && mount -t tmpfs x /tmp/m && echo mounted");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout())
                    .contains("NoNewPrivs:\t1", "\n0\n", "mounted")
                    .doesNotContain("CapEff:\t0000000000000000");
        }

        @Test
        @DisplayName(
                "--caps default: Docker's capability set, without NET_RAW as there is no net namespace; mount is then refused")
        void dockerCaps() throws Exception {
            Result result = runWith(
                    List.of("--caps", "default"),
                    "sh",
                    "-c",
                    "grep -E '^Cap(Eff|Bnd|Inh|Amb)' /proc/self/status; mount -t tmpfs x /tmp; echo mount=$?");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout())
                    .contains(
                            "CapEff:\t00000000a80405fb",
                            "CapBnd:\t00000000a80405fb",
                            "CapInh:\t0000000000000000",
                            "CapAmb:\t0000000000000000")
                    .endsWith("mount=1\n");
        }

        @Test
        @DisplayName("--rlimit: soft and hard limits as given, `unlimited` allowed")
        void rlimits() throws Exception {
            Result result = runWith(
                    List.of("--rlimit", "nofile:64:128", "--rlimit", "core:unlimited:unlimited"),
                    "sh",
                    "-c",
                    "ulimit -n; ulimit -Hn; ulimit -c");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout()).isEqualTo("64\n128\nunlimited\n");
        }

        @Test
        @DisplayName("--seccomp: a raw cBPF filter denying mkdir gives EPERM for mkdir only")
        void seccompFilter() throws Exception {
            Path filter = tmp.resolve("no-mkdir.bpf");
            Files.write(filter, SeccompFilters.denyMkdir());

            Result result = runWith(
                    List.of("--seccomp", filter.toString()), "sh", "-c", "mkdir /tmp/x; echo rc=$?; echo alive");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout()).isEqualTo("rc=1\nalive\n");
            assertThat(result.stderr()).contains("Operation not permitted");
        }

        @Test
        @DisplayName(
                "--seccomp-profile default: the built-in filter; with --caps all mount still works, with --caps default it is refused by the filter too")
        void defaultSeccompProfile() throws Exception {
            Result all = runWith(
                    List.of("--seccomp-profile", "default"),
                    "sh",
                    "-c",
                    "grep -E '^Seccomp(_filters)?:' /proc/self/status; mkdir /tmp/m && mount -t tmpfs x /tmp/m && echo mounted");
            Result docker = runWith(
                    List.of("--seccomp-profile", "default", "--caps", "default"),
                    "sh",
                    "-c",
                    "mount -t tmpfs x /tmp; echo mount=$?");
            Result unconfined = run("grep", "^Seccomp:", "/proc/self/status");
            Result bad = runWith(List.of("--seccomp-profile", "strict"), "true");

            assertThat(all.code()).as(all.stderr()).isZero();
            assertThat(all.stdout()).isEqualTo("Seccomp:\t2\nSeccomp_filters:\t1\nmounted\n");
            assertThat(docker.stdout()).isEqualTo("mount=1\n");
            assertThat(unconfined.stdout())
                    .as("unconfined is the command line's default")
                    .isEqualTo("Seccomp:\t0\n");
            assertThat(bad.code()).isEqualTo(125);
            assertThat(bad.stderr()).contains("isolated-helper: seccomp:", "default", "unconfined");
        }

        @Test
        @DisplayName("--seccomp with a missing or malformed file: exit 125, stage seccomp")
        void badSeccompFile() throws Exception {
            Path odd = Files.write(tmp.resolve("odd.bpf"), new byte[] {1, 2, 3});

            Result missing =
                    runWith(List.of("--seccomp", tmp.resolve("none.bpf").toString()), "true");
            Result malformed = runWith(List.of("--seccomp", odd.toString()), "true");

            assertThat(missing.code()).isEqualTo(125);
            assertThat(missing.stderr()).contains("isolated-helper: seccomp:", "none.bpf");
            assertThat(malformed.code()).isEqualTo(125);
            assertThat(malformed.stderr()).contains("isolated-helper: seccomp:", "sock_filter");
        }

        @Test
        @DisplayName("--uid/--gid/--umask: the command runs as that user, without groups, with that umask")
        void uidGidUmask() throws Exception {
            Result result = runWith(
                    List.of("--uid", "1000", "--gid", "1001", "--umask", "077"),
                    "sh",
                    "-c",
                    "id; umask; grep -E '^(Groups|CapEff)' /proc/self/status");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout())
                    .startsWith("uid=1000 gid=1001")
                    .contains("\n0077\n", "CapEff:\t0000000000000000")
                    .containsPattern("Groups:\\s*\n");
        }

        @Test
        @DisplayName(
                "--groups: the command's supplementary groups; a malformed list or a group not mapped: exit 125, stage user")
        void supplementaryGroups() throws Exception {
            Result result = runWith(
                    List.of("--uid", "1000", "--gid", "1001", "--groups", "4,27"),
                    "sh",
                    "-c",
                    "id -G; grep ^Groups /proc/self/status");
            Result malformed = runWith(List.of("--uid", "1000", "--gid", "1001", "--groups", "4,,27"), "id");
            Result unmapped = runWith(
                    List.of("--ns", "user,pid,mount", "--uid", "1000", "--gid", "1001", "--groups", "70000"), "id");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout()).startsWith("1001 4 27\n").containsPattern("Groups:\\s*4 27\\s*\n");
            assertThat(malformed.code()).isEqualTo(125);
            assertThat(malformed.stderr()).contains("isolated-helper: user:", "comma-separated list");
            assertThat(unmapped.code()).isEqualTo(125);
            assertThat(unmapped.stderr()).contains("isolated-helper: user:", "supplementary group is not mapped");
        }

        @Test
        @DisplayName("--uid not mapped in the user namespace: exit 125, stage user, naming the id")
        void unmappedUid() throws Exception {
            // as root the env maps 0..65535 (its range): 70000 is outside it
            Result result = runWith(List.of("--ns", "user,pid,mount", "--uid", "70000"), "id");

            assertThat(result.code()).isEqualTo(125);
            assertThat(result.stderr()).contains("isolated-helper: user:", "uid 70000", "not mapped");
        }
    }
}
