package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("HostSupport.probe()")
class HostSupportTests {

    @Test
    @DisplayName("reports every step, each of which works on this host, and reads the sysctls as facts")
    void probe() {
        HostSupport host = HostSupport.probe();

        assertThat(host.steps()).extracting(HostSupport.Step::name).contains("userns", "uid-map", "proc", "overlay",
                "pivot-root", "net", "time-ns", "newuidmap", "newgidmap", "subids", "userns-capabilities",
                "sysctl user.max_user_namespaces");
        assertThat(host.steps()).allSatisfy(step -> assertThat(step.ok()).as(step.toString()).isTrue());
        assertThat(host.allOk()).isTrue();
        assertThat(host.step("sysctl user.max_user_namespaces").detail()).matches("\\d+");
        assertThat(HostSupport.probe()).isSameAs(host);
    }

    @Test
    @DisplayName("as root without a range in /etc/subuid: subids is ok, saying root needs none")
    void subidsAsRoot() throws IOException {
        Path subuid = Path.of("/etc/subuid");
        assumeThat(Files.exists(subuid) ? Files.readString(subuid) : "").as("/etc/subuid has no range for root")
                .doesNotContainPattern("(?m)^(root|0):");

        HostSupport.Step subids = HostSupport.probe().step("subids");

        assertThat(subids.ok()).as(subids.toString()).isTrue();
        assertThat(subids.detail()).startsWith("not needed as root: user-map=subids maps 0..65535 itself");
    }

    @Test
    @DisplayName("names the steps there are when asked for an unknown one")
    void unknownStep() {
        assertThatThrownBy(() -> HostSupport.probe().step("warp-drive")).hasMessageContaining("userns");
    }
}
