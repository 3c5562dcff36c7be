package dev.isolated;

import static dev.isolated.Namespace.MOUNT;
import static dev.isolated.Namespace.PID;
import static dev.isolated.Namespace.USER;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("when the host cannot create what a test asks for")
class HostCannotTests {

    @Test
    @DisplayName("the test is aborted with the failing step and the setting to change")
    void userNamespacesForbidden() throws IOException, InterruptedException {
        // A user namespace whose user.max_user_namespaces is 0: creating another one fails with ENOSPC,
        // as it does on hosts where an administrator turned user namespaces off.
        List<String> lines = runInRestrictedUserNamespace("isolated.failIfUnsupported=false");

        assertThat(lines).singleElement().satisfies(line -> {
            assertThat(line).startsWith("ABORTED\t");
            assertThat(line).contains("stage 'clone'").contains("ENOSPC").contains("user.max_user_namespaces");
        });
    }

    @Test
    @DisplayName("with isolated.failIfUnsupported=true the test fails instead, as CI wants")
    void failIfUnsupported() throws IOException, InterruptedException {
        assertThat(runInRestrictedUserNamespace("isolated.failIfUnsupported=true")).singleElement()
                .satisfies(line -> assertThat(line).startsWith("FAILED\t").contains("user.max_user_namespaces"));
    }

    @Test
    @DisplayName("where user namespaces get no capabilities (AppArmor-like, simulated with seccomp): aborted, naming the sysctl")
    void userNamespacesWithoutCapabilities(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = NobodyJvm.runFixture(dir, UserNamespaceTestCase.class, SeccompExec.restrictedUserNamespace(dir));

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("ABORTED\t")
                .contains("EACCES", "the host probe says userns-capabilities: FAILS EACCES",
                        "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"));
    }

    @Test
    @DisplayName("where user namespaces get no capabilities, with isolated.failIfUnsupported=true: fails, naming the sysctl")
    void userNamespacesWithoutCapabilitiesMustWork(@TempDir Path dir) throws IOException, InterruptedException {
        List<String> lines = NobodyJvm.runFixture(dir, UserNamespaceTestCase.class, SeccompExec.restrictedUserNamespace(dir),
                "isolated.failIfUnsupported=true");

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("FAILED\t")
                .contains("kernel.apparmor_restrict_unprivileged_userns=0"));
    }

    private static List<String> runInRestrictedUserNamespace(String configuration)
            throws IOException, InterruptedException {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String script = "echo 0 > /proc/sys/user/max_user_namespaces && exec \"$0\" -cp \"$1\" \"$2\" \"$3\" \"$4\"";
        Process child = new ProcessBuilder("unshare", "--user", "--map-root-user", "sh", "-c", script, java,
                System.getProperty("java.class.path"), FixtureRunner.class.getName(), UserNamespaceTestCase.class.getName(),
                configuration)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> lines = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertThat(child.waitFor()).isZero();
        return lines;
    }

    static class UserNamespaceTestCase {
        @org.junit.jupiter.api.Test
        @Isolated(rootfs = "busybox.tar", namespaces = {USER, PID, MOUNT})
        void test(IsolatedEnvironment env) {
            env.exec("true");
        }
    }
}
