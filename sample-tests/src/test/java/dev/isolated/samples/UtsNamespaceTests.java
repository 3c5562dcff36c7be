package dev.isolated.samples;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Capabilities;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/**
 * Walk-through step 5: a UTS namespace gives the environment a hostname of its own. Running {@code hostname NAME}
 * inside needs {@code CAP_SYS_ADMIN}, which Docker's default set lacks: like {@code unshare}, this test keeps
 * all capabilities ({@code env.setHostname(NAME)} works with the default set).
 */
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT, UTS},
        hostname = "box",
        capabilities = Capabilities.ALL)
class UtsNamespaceTests {

    @Test
    void hostnamePrintsTheAnnotationsValue(IsolatedEnvironment env) {
        assertThat(env.exec("hostname")).succeeded().stdout().isEqualTo("box\n");
        assertThat(env).hostname().isEqualTo("box");
    }

    @Test
    void changingTheHostnameInsideLeavesTheHostsAlone(IsolatedEnvironment env) throws IOException {
        String hostBefore = hostHostname();

        assertThat(env.exec("hostname", "other")).succeeded();

        assertThat(env.exec("hostname")).stdout().isEqualTo("other\n");
        assertThat(env).hostname().isEqualTo("other");
        assertThat(hostHostname()).isEqualTo(hostBefore).isNotEqualTo("other");
    }

    private static String hostHostname() throws IOException {
        return Files.readString(Paths.get("/proc/sys/kernel/hostname")).strip();
    }
}
