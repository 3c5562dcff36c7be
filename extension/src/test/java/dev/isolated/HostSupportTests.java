package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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

    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS)
    @DisplayName("a probe that prints nothing and never ends fails at its timeout, not never")
    void hungProbe() {
        assertThatThrownBy(() -> HostSupport.run(List.of("sh", "-c", "sleep 60"), Duration.ofMillis(500)))
                .isInstanceOf(IsolatedException.class)
                .hasMessage("isolated-helper probe did not finish within 500 ms");
    }

    @Test
    @DisplayName("a probe that exits with another code than 0, or reports no step, fails saying so")
    void brokenProbe() {
        assertThatThrownBy(
                        () -> HostSupport.run(List.of("sh", "-c", "echo broken >&2; exit 3"), Duration.ofSeconds(30)))
                .isInstanceOf(IsolatedException.class)
                .hasMessage("isolated-helper probe exited with code 3: broken");
        assertThatThrownBy(() -> HostSupport.run(List.of("/bin/true"), Duration.ofSeconds(30)))
                .isInstanceOf(IsolatedException.class)
                .hasMessage("isolated-helper probe (/bin/true) reported no step; check isolated.helper.path, which "
                        + "must name the isolated-helper");
    }
}
