package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("HostSupport.probe()")
class HostSupportTests {

    @Test
    @DisplayName("reports every step, each of which works on this host, and reads the sysctls as facts")
    void probe() {
        HostSupport host = HostSupport.probe();

        assertThat(host.steps())
                .extracting(HostSupport.Step::name)
                .contains(
                        "userns",
                        "uid-map",
                        "proc",
                        "overlay",
                        "pivot-root",
                        "net",
                        "time-ns",
                        "newuidmap",
                        "newgidmap",
                        "subids",
                        "userns-capabilities",
                        "container",
                        "seccomp",
                        "proc-unmasked",
                        "root-capabilities",
                        "sysctl user.max_user_namespaces");
        assertThat(host.steps())
                .allSatisfy(step -> assertThat(step.ok()).as(step.toString()).isTrue());
        assertThat(host.allOk()).isTrue();
        assertThat(host.step("sysctl user.max_user_namespaces").detail()).matches("\\d+");
        assertThat(HostSupport.probe()).isSameAs(host);
    }

    @Test
    @DisplayName("names the steps there are when asked for an unknown one")
    void unknownStep() {
        assertThatThrownBy(() -> HostSupport.probe().step("warp-drive")).hasMessageContaining("userns");
    }
}
