package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.USER;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("when the host cannot create what a test asks for")
class HostCannotTests {

    @Test
    @DisplayName(
            "the test fails (a misconfigured runner is red), naming the failing step, the setting to change and how to skip")
    void userNamespacesForbidden() throws IOException, InterruptedException {
        // A user namespace whose user.max_user_namespaces is 0: creating another one fails with ENOSPC,
        // as it does on hosts where an administrator turned user namespaces off.
        List<String> lines = runInRestrictedUserNamespace(UserNamespaceTestCase.class);

        assertThat(lines).singleElement().satisfies(line -> {
            assertThat(line)
                    .startsWith(
                            "FAILED\tEnvironmentSetupException: This host cannot create the isolated environment: ");
            assertThat(line)
                    .contains("stage 'clone'")
                    .contains("ENOSPC")
                    .contains("user.max_user_namespaces")
                    .contains("Isolated environment setup failed at stage 'clone': clone3: No space left on device "
                            + "(ENOSPC) Hint: ")
                    .endsWith(" (To skip such tests instead of failing them, set isolated.skipIfUnsupported=true or "
                            + "write @Isolated(skipIfUnsupported = true).)");
        });
    }

    @Test
    @DisplayName("with isolated.skipIfUnsupported=true the test is aborted (skipped) instead, with the same finding")
    void skipIfUnsupportedKey() throws IOException, InterruptedException {
        assertThat(runInRestrictedUserNamespace(UserNamespaceTestCase.class, "isolated.skipIfUnsupported=true"))
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("ABORTED\t")
                        .contains(
                                "This host cannot create the isolated environment",
                                "stage 'clone'",
                                "user.max_user_namespaces"));
    }

    @Test
    @DisplayName("with @Isolated(skipIfUnsupported = true) the test is aborted (skipped) instead")
    void skipIfUnsupportedAttribute() throws IOException, InterruptedException {
        assertThat(runInRestrictedUserNamespace(SkippingTestCase.class))
                .singleElement()
                .satisfies(line ->
                        assertThat(line).startsWith("ABORTED\t").contains("stage 'clone'", "user.max_user_namespaces"));
    }

    @Test
    @DisplayName(
            "where user namespaces get no capabilities (AppArmor-like, simulated with seccomp): fails, naming the sysctl")
    void userNamespacesWithoutCapabilities(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines =
                NobodyJvm.runFixture(dir, UserNamespaceTestCase.class, SeccompExec.restrictedUserNamespace(dir));

        assertThat(lines)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("FAILED\t")
                        .contains(
                                "EACCES",
                                "the host probe says userns-capabilities: FAILS EACCES (mount /: Permission denied); "
                                        + "user namespaces are created but get no capabilities: sysctl -w "
                                        + "kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04), or an "
                                        + "AppArmor profile with `userns,` for the helper's path",
                                "isolated.skipIfUnsupported=true"));
    }

    @Test
    @DisplayName(
            "where user namespaces get no capabilities, with isolated.skipIfUnsupported=true: aborted, naming the sysctl")
    void userNamespacesWithoutCapabilitiesSkipped(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = NobodyJvm.runFixture(
                dir,
                UserNamespaceTestCase.class,
                SeccompExec.restrictedUserNamespace(dir),
                "isolated.skipIfUnsupported=true");

        assertThat(lines)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("ABORTED\t")
                        .contains("kernel.apparmor_restrict_unprivileged_userns=0"));
    }

    @Test
    @DisplayName(
            "under Docker's default seccomp profile (simulated): fails at clone, quoting the probe's seccomp finding and its settings")
    void dockerDefaultSeccomp(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = NobodyJvm.runFixture(dir, UserNamespaceTestCase.class, SeccompExec.dockerDefault(dir));

        assertThat(lines)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("FAILED\t")
                        .contains(
                                "This host cannot create the isolated environment",
                                "stage 'clone'",
                                "EPERM",
                                "the host probe says seccomp: FAILS EPERM",
                                "docker run --security-opt seccomp=unconfined",
                                "security_opt = [\"seccomp=unconfined\"] in [runners.docker]",
                                "securityContext.seccompProfile.type: Unconfined",
                                "isolated.skipIfUnsupported=true"));
    }

    @Test
    @DisplayName(
            "where /proc is masked as Docker masks it: fails at mount-proc, quoting the probe's proc-unmasked finding and its settings")
    void maskedProc(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> masked = List.of(
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mount -t tmpfs -o ro masked /proc/acpi && mount --bind /dev/null /proc/timer_list && exec \"$@\"",
                "sh");

        List<String> lines = NobodyJvm.runFixture(dir, UserNamespaceTestCase.class, masked);

        assertThat(lines)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("FAILED\t")
                        .contains(
                                "stage 'mount-proc'",
                                "EPERM",
                                "the host probe says proc-unmasked: FAILS (masked: /proc/acpi /proc/timer_list)",
                                "docker run --security-opt systempaths=unconfined",
                                "securityContext.procMount: Unmasked"));
    }

    @Test
    @DisplayName(
            "as root without CAP_SYS_ADMIN (a container's root): the helper does not start, and says which capability to add")
    void rootWithoutSysAdmin() throws IOException, InterruptedException {
        List<String> lines = FixtureRunner.runInChildJvm(
                List.of("setpriv", "--bounding-set=-sys_admin"), List.of(), UserNamespaceTestCase.class);

        assertThat(lines)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith("FAILED\t")
                        .contains(
                                "did not start",
                                "isolated-helper: mount-private: unshare CLONE_NEWNS: Operation not permitted",
                                "hint: root without CAP_SYS_ADMIN, or a seccomp filter refusing unshare (a container's defaults): "
                                        + "docker run --cap-add SYS_ADMIN, GitLab "
                                        + "cap_add = [\"SYS_ADMIN\"], Kubernetes capabilities.add: [SYS_ADMIN]; or run the tests as "
                                        + "another user (isolated-helper probe)"));
    }

    @Test
    @DisplayName("in a PID namespace whose /proc is another's (unshare --pid --fork without --mount-proc): stage proc,"
            + " with README's hint (not the probe's, which fails there too and blamed user namespaces), as the host's"
            + " limitation")
    void procOfAnotherPidNamespace() throws IOException, InterruptedException {
        List<String> lines = FixtureRunner.runInChildJvm(
                List.of("unshare", "--pid", "--fork"), List.of(), UserNamespaceTestCase.class);

        assertThat(lines)
                .containsExactly("FAILED\tEnvironmentSetupException: This host cannot create the isolated environment: "
                        + "Isolated environment setup failed at stage 'proc': readlink /proc/self: Invalid argument "
                        + "(EINVAL) Hint: /proc is mounted for another PID namespace than the helper's: run it where "
                        + "/proc belongs to its own PID namespace, e.g. unshare --pid --fork --mount-proc (To skip such "
                        + "tests instead of failing them, set isolated.skipIfUnsupported=true or write "
                        + "@Isolated(skipIfUnsupported = true).)");
    }

    @Test
    @DisplayName("rootless, a bind source the user cannot reach: stage bind, EACCES, a hint that says so (not that"
            + " it does not exist), and no 'this host cannot' (it is the test's own mistake)")
    void bindSourceNotReachable(@TempDir Path dir) throws IOException, InterruptedException {
        Path secret = Files.createDirectories(dir.resolve("private").resolve("data"));
        Files.setPosixFilePermissions(secret.getParent(), PosixFilePermissions.fromString("rwx------"));
        List<String> lines = NobodyJvm.runFixture(
                NobodyJvm.runDirectory(dir, "run"), BindTestCase.class, List.of("env", "AUDIT_BIND=" + secret));

        assertThat(lines)
                .containsExactly(
                        "FAILED\tEnvironmentSetupException: Isolated environment setup failed at stage 'bind': "
                                + "stat " + secret + ": Permission denied (EACCES) Hint: the bind source " + secret
                                + " (for "
                                + "/data) is there, but the user the tests run as may not reach it: a directory on its path "
                                + "does not let that user search it (x permission); give it that permission (chmod o+x), or "
                                + "bind a path that user can reach");
    }

    @Test
    @DisplayName("as root on a read-only cgroup file system (a container's): a @Limits test fails at stage cgroup with"
            + " README's hint, as the host's limitation")
    void readOnlyCgroupFileSystem() throws IOException, InterruptedException {
        // Every cgroup mount read-only in a mount namespace of the child JVM's own; the host's stay as they are.
        String script = "for m in $(awk '$9 ~ /^cgroup/ {print $5}' /proc/self/mountinfo); do"
                + " mount -o remount,bind,ro \"$m\" || exit 99; done; exec \"$@\"";
        List<String> lines = FixtureRunner.runInChildJvm(
                List.of("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"),
                List.of(),
                LimitsTestCase.class);

        assertThat(lines)
                .singleElement()
                .satisfies(line -> assertThat(line)
                        .startsWith(
                                "FAILED\tEnvironmentSetupException: This host cannot create the isolated environment: "
                                        + "Isolated environment setup failed at stage 'cgroup': mkdir /sys/fs/cgroup/")
                        .endsWith(
                                ": Read-only file system (EROFS) Hint: the cgroup file system is mounted read-only here (as in"
                                        + " a container that is not privileged): mount it read-write (for a container: a writable "
                                        + "/sys/fs/cgroup, e.g. docker run --privileged), or run without cgroup limits (To skip such "
                                        + "tests instead of failing them, set isolated.skipIfUnsupported=true or write "
                                        + "@Isolated(skipIfUnsupported = true).)"));
    }

    static class LimitsTestCase {
        @org.junit.jupiter.api.Test
        @Isolated(rootfs = "busybox.tar")
        @Limits(memoryBytes = 64L << 20)
        void test(IsolatedEnvironment env) {
            env.exec("true");
        }
    }

    static class BindTestCase {
        @org.junit.jupiter.api.Test
        void test() {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .bind(Path.of(System.getenv("AUDIT_BIND")), "/data")
                    .start()) {
                env.exec("true");
            }
        }
    }

    private static List<String> runInRestrictedUserNamespace(Class<?> fixture, String... configuration)
            throws IOException, InterruptedException {
        String script = "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\"";
        return FixtureRunner.runInChildJvm(
                List.of("unshare", "--user", "--map-root-user", "sh", "-c", script, "sh"),
                List.of(),
                fixture,
                configuration);
    }

    static class SkippingTestCase {
        @org.junit.jupiter.api.Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {USER, PID, MOUNT},
                skipIfUnsupported = true)
        void test(IsolatedEnvironment env) {
            env.exec("true");
        }
    }

    static class UserNamespaceTestCase {
        @org.junit.jupiter.api.Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {USER, PID, MOUNT})
        void test(IsolatedEnvironment env) {
            env.exec("true");
        }
    }
}
