package dev.isolated.internal.env;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.isolated.Capabilities;
import dev.isolated.LinuxNamespace;
import dev.isolated.Seccomp;
import dev.isolated.UserMapping;
import dev.isolated.image.ImageConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The one encoder of CREATE: every key of native/PROTOCOL.md's CREATE fields that the spec can give. */
@DisplayName("CREATE request from an environment spec")
class CreateRequestTests {
    private static final Path ROOTFS = Path.of("/cache/images/abc/rootfs");

    @Test
    @DisplayName("the defaults: the namespaces of @Isolated, Docker's capabilities, the built-in seccomp filter")
    void defaults() {
        EnvironmentSpec spec = EnvironmentSpec.builder().build(ROOTFS, ImageConfig.EMPTY);
        assertThat(CreateRequest.of(spec))
                .hasToString("{rootfs=/cache/images/abc/rootfs, ns=pid,mount,uts,ipc,net,"
                        + "cgroup, caps=default, seccomp-profile=default}");
        assertThat(spec.execTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(spec.awaitTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(spec.workingDirectory()).isEqualTo("/");
        assertThat(spec.env()).containsExactlyInAnyOrderEntriesOf(EnvironmentSpec.DEFAULT_ENV);
    }

    @Test
    @DisplayName("every setting, in the order the helper documents them; offsets add the time namespace")
    void everything() {
        EnvironmentSpec spec = EnvironmentSpec.builder()
                .namespaces(
                        EnumSet.of(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.NET))
                .hostname("db")
                .mount(new ExtraMount(ExtraMount.Kind.BIND, "/host/in", "/in", true, 0))
                .mount(new ExtraMount(ExtraMount.Kind.TMPFS, "", "/scratch", false, 1 << 20))
                .mount(new ExtraMount(ExtraMount.Kind.BIND, "/host/out", "/out", false, 0))
                .readOnlyRootfs(true)
                .memoryBytes(64 << 20)
                .pids(50)
                .cpuPercent(150)
                .rlimit("nofile", 256)
                .rlimit("fsize", 4096)
                .rlimit("nofile", 512)
                .clockOffsets(-5, 86400)
                .capabilities(Capabilities.ALL)
                .network("orders")
                .seccompFilter("/filters/f.bpf")
                .userMapping(UserMapping.SUBIDS)
                .seccomp(Seccomp.UNCONFINED)
                .build(ROOTFS, ImageConfig.EMPTY);
        assertThat(CreateRequest.of(spec))
                .hasToString("{rootfs=/cache/images/abc/rootfs, ns=pid,mount,uts,net,time, "
                        + "hostname=db, bind=/host/in\t/in\tro, tmpfs=/scratch\t1048576\t1777, bind=/host/out\t/out\trw, "
                        + "readonly-root=true, memory-max=67108864, pids-max=50, cpu-max=150000\t100000, "
                        + "rlimit=nofile\t512\t512, rlimit=fsize\t4096\t4096, time-offset=monotonic\t-5, "
                        + "time-offset=boottime\t86400, caps=all, network=orders, seccomp-profile=unconfined, "
                        + "seccomp=/filters/f.bpf, user-map=subids}");
    }

    @Test
    @DisplayName(
            "the writable layer comes last: frozen layers topmost first, then the tmpfs's size or the disk directory")
    void layers() {
        EnvironmentSpec spec = EnvironmentSpec.builder().build(ROOTFS, ImageConfig.EMPTY);
        LayerSpec tmpfs = new LayerSpec(false, "512m", Path.of("/w"), "-Dx", List.of(Path.of("/f/2"), Path.of("/f/1")));
        assertThat(CreateRequest.of(spec, tmpfs, null))
                .hasToString("{rootfs=/cache/images/abc/rootfs, "
                        + "ns=pid,mount,uts,ipc,net,cgroup, caps=default, seccomp-profile=default, layer=/f/2, layer=/f/1, "
                        + "upper-size=512m}");
        LayerSpec disk = new LayerSpec(true, "512m", Path.of("/w"), "-Dx", List.of());
        assertThat(CreateRequest.of(spec, disk, Path.of("/w/jvm/layer-1")))
                .hasToString(
                        "{rootfs=/cache/images/abc/rootfs, "
                                + "ns=pid,mount,uts,ipc,net,cgroup, caps=default, seccomp-profile=default, upper-dir=/w/jvm/layer-1}");
        assertThat(CreateRequest.of(spec, new LayerSpec(false, "", Path.of("/w"), "-Dx", List.of()), null))
                .hasToString(CreateRequest.of(spec).toString());
    }

    @Test
    @DisplayName("resource tracking without limits asks for a cgroup; with a limit the limit makes it")
    void trackResources() {
        assertThat(CreateRequest.of(
                        EnvironmentSpec.builder().trackResources(true).build(ROOTFS, ImageConfig.EMPTY)))
                .hasToString(
                        "{rootfs=/cache/images/abc/rootfs, ns=pid,mount,uts,ipc,net,cgroup, cgroup=true, caps=default, "
                                + "seccomp-profile=default}");
        assertThat(CreateRequest.of(
                        EnvironmentSpec.builder().trackResources(true).pids(10).build(ROOTFS, ImageConfig.EMPTY)))
                .hasToString("{rootfs=/cache/images/abc/rootfs, ns=pid,mount,uts,ipc,net,cgroup, pids-max=10, "
                        + "caps=default, seccomp-profile=default}");
    }

    @Test
    @DisplayName("USER is asked for only when given: the helper adds it to every environment")
    void userNamespaceIsTheHelpers() {
        EnvironmentSpec spec = EnvironmentSpec.builder()
                .namespaces(EnumSet.of(LinuxNamespace.USER, LinuxNamespace.PID))
                .build(ROOTFS, ImageConfig.EMPTY);
        assertThat(CreateRequest.of(spec).getOrEmpty("ns")).isEqualTo("pid,user");
        assertThat(CreateRequest.of(EnvironmentSpec.builder()
                                .namespaces(EnumSet.of(LinuxNamespace.PID))
                                .build(ROOTFS, ImageConfig.EMPTY))
                        .getOrEmpty("ns"))
                .isEqualTo("pid");
    }

    @Test
    @DisplayName("the image's Env and WorkingDir apply under the environment's own")
    void imageDefaults() {
        ImageConfig image =
                new ImageConfig(List.of("PATH=/opt/bin", "LANG=C", "A=image"), "/srv", "", List.of(), List.of());
        EnvironmentSpec fromImage = EnvironmentSpec.builder().env("A", "env").build(ROOTFS, image);
        assertThat(fromImage.env())
                .containsOnly(entry("PATH", "/opt/bin"), entry("HOME", "/"), entry("LANG", "C"), entry("A", "env"));
        assertThat(fromImage.workingDirectory()).isEqualTo("/srv");
        assertThat(EnvironmentSpec.builder()
                        .workingDirectory("/work")
                        .build(ROOTFS, image)
                        .workingDirectory())
                .isEqualTo("/work");
    }

    @Test
    @DisplayName("the spec is immutable and checks the rules between settings")
    void immutableAndChecked() {
        EnvironmentSpec spec =
                EnvironmentSpec.builder().env("A", "1").rlimit("nofile", 8).build(ROOTFS, ImageConfig.EMPTY);
        assertThatThrownBy(() -> spec.env().put("B", "2")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> spec.namespaces().add(LinuxNamespace.TIME))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> spec.options().rlimits().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> EnvironmentSpec.builder()
                        .namespaces(EnumSet.of(LinuxNamespace.PID))
                        .hostname("h")
                        .build(ROOTFS, ImageConfig.EMPTY))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hostname \"h\" needs the UTS namespace: add LinuxNamespace.UTS to namespaces, or drop the "
                        + "hostname");
        assertThatThrownBy(() -> EnvironmentSpec.builder()
                        .namespaces(EnumSet.of(LinuxNamespace.PID))
                        .network("n")
                        .build(ROOTFS, ImageConfig.EMPTY))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "a private network needs the NET namespace: add LinuxNamespace.NET to namespaces, or drop the network");
    }
}
