package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.CREATE;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CREATE {@code network=NAME} (PROTOCOL.md): private networks between environments, on
 * 10.213.k.0/24 addresses that exist only inside the helper's namespaces. Every address used
 * here is one the helper reported; the host's interfaces are checked to be left alone. As root
 * and, through setpriv, as uid 65534 (each network then has a user namespace of its own).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve: private networks")
class HelperNetworkTests {

    private static final List<String> APPLETS = List.of("sh", "ip", "nc", "echo", "sleep", "cat");

    private static final String NET_NS = "pid,mount,uts,ipc,net";

    private static final int NOBODY = 65534;

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildBusyboxRootfs() throws IOException {
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), APPLETS);
    }

    @Test
    @DisplayName(
            "two envs on network t1 talk over eth0; an env on t2 cannot reach them; the host's interfaces are untouched; CLOSE destroys the switch namespaces")
    void privateNetworkBetweenTwoEnvironments() throws Exception {
        Set<String> hostInterfacesBefore = hostInterfaces();
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            Fields a = c.create(1, "ns=" + NET_NS, "network=t1");
            Fields b = c.create(2, "ns=" + NET_NS, "network=t1");
            Fields other = c.create(3, "ns=" + NET_NS, "network=t2");
            assertThat(a).containsEntry("network", "t1");
            assertThat(other).containsEntry("network", "t2");
            String ipA = field(a, "ip");
            String ipB = field(b, "ip");
            String ipOther = field(other, "ip");
            assertThat(List.of(ipA, ipB, ipOther))
                    .allMatch(ip -> ip.matches("10\\.213\\.\\d+\\.\\d+"))
                    .doesNotHaveDuplicates();
            assertThat(subnet(ipB)).isEqualTo(subnet(ipA)).isNotEqualTo(subnet(ipOther));
            // the two switches: the helper holds no env's netns (it reaches them through the init's pid)
            assertThat(helperNetnsFds(c)).hasSize(2);

            assertThat(c.run(10, 1, "ip -o addr show eth0")).contains("eth0", "inet " + ipA + "/24");
            assertThat(c.run(11, 2, "ip -o addr show eth0")).contains("inet " + ipB + "/24");
            assertThat(c.run(12, 1, "ip -o link")).contains(": lo:", ": eth0@").doesNotContain("br0", "veth");

            // the listener's stdin is a pipe that stays open: busybox nc -l would stop at EOF of it
            c.spawn(13, 1, true, "nc -l -p 7000");
            c.run(
                    14,
                    2,
                    "i=0; until echo hi | nc " + ipA + " 7000; do i=$((i+1)); "
                            + "[ $i -gt 50 ] && exit 1; sleep 0.1; done");
            assertThat(c.output(13)).isEqualTo("hi\n");
            assertThat(c.exit(13)).containsEntry("code", "0");

            String blocked = c.run(15, 3, "echo x | nc -w 2 " + ipA + " 7000; echo rc=$?");
            assertThat(blocked).contains("rc=1").contains("unreachable");

            assertThat(hostInterfaces()).isEqualTo(hostInterfacesBefore);

            c.close(1);
            c.close(2);
            assertThat(helperNetnsFds(c))
                    .as("the switch of t2 (t1's went with its last member)")
                    .hasSize(1);
            c.close(3);
            assertThat(helperNetnsFds(c)).isEmpty();
        }
        assertThat(hostInterfaces()).isEqualTo(hostInterfacesBefore);
    }

    @Test
    @DisplayName("a network freed by its last env can be created again; members get distinct addresses")
    void networkIsRecreatedAfterItsLastEnvironment() throws Exception {
        try (Conversation c = new Conversation(tmp.resolve("state"), rootfs)) {
            String first = field(c.create(1, "ns=" + NET_NS, "network=again"), "ip");
            c.close(1);
            assertThat(helperNetnsFds(c)).isEmpty();

            String second = field(c.create(2, "ns=" + NET_NS, "network=again"), "ip");
            String third = field(c.create(3, "ns=" + NET_NS, "network=again"), "ip");
            assertThat(List.of(first, second, third)).allMatch(ip -> ip.matches("10\\.213\\.\\d+\\.\\d+"));
            assertThat(second).isNotEqualTo(third);
            assertThat(subnet(second)).isEqualTo(subnet(third));
            assertThat(c.run(4, 3, "ip -o addr show eth0")).contains("inet " + third + "/24");
        }
    }

    @Test
    @DisplayName("network= without net in ns, or with a bad name, is an ERROR with stage network")
    void badNetworkRequests() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Frame withoutNet = server.request(CREATE, 1, "rootfs=" + rootfs, "ns=pid,mount", "network=t1");
            assertThat(withoutNet)
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "network")
                    .containsEntry("errname", "EINVAL");
            assertThat(field(withoutNet.fields(), "hint")).contains("net");

            Frame badName = server.request(CREATE, 2, "rootfs=" + rootfs, "ns=" + NET_NS, "network=Not_Valid");
            assertThat(badName)
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "network")
                    .containsEntry("path", "Not_Valid");

            Frame tooLong = server.request(CREATE, 3, "rootfs=" + rootfs, "ns=" + NET_NS, "network=a-name-of-16-char");
            assertThat(tooLong).hasType(ERROR);
        }
    }

    @Test
    @DisplayName("as uid 65534: envs of t1 (user-map root and self) talk over eth0, t2 is kept out, subids is "
            + "refused on t1; CLOSE releases every namespace")
    void rootlessPrivateNetwork() throws Exception {
        Set<String> hostInterfacesBefore = hostInterfaces();
        try (Conversation c = new Conversation(asNobody(), rootfs)) {
            String ipA = field(c.create(1, "ns=" + NET_NS, "network=t1"), "ip");
            String ipB = field(c.create(2, "ns=" + NET_NS, "network=t1", "user-map=self"), "ip");
            String ipOther = field(c.create(3, "ns=" + NET_NS, "network=t2"), "ip");
            assertThat(subnet(ipB)).isEqualTo(subnet(ipA)).isNotEqualTo(subnet(ipOther));
            Frame mixed =
                    c.client.request(CREATE, 4, "rootfs=" + rootfs, "ns=" + NET_NS, "network=t1", "user-map=subids");
            assertThat(mixed)
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "network")
                    .containsEntry("path", "t1")
                    .containsEntry("errname", "EINVAL");
            assertThat(field(mixed.fields(), "hint")).contains("needs user-map=root or self");
            // two switches' namespaces and a user ns per network (where the envs' user ns are nested); the helper
            // holds none of an env's (it reaches them through the init's pid, PROTOCOL.md "Open files")
            assertThat(helperNamespaceFds(c, "net")).hasSize(2);
            assertThat(helperNamespaceFds(c, "user")).hasSize(2);

            assertThat(c.run(10, 1, "id -u; ip -o addr show eth0"))
                    .startsWith("0\n")
                    .contains("inet " + ipA + "/24");
            assertThat(c.run(11, 2, "id -u")).isEqualTo(NOBODY + "\n");
            c.spawn(12, 1, true, "nc -l -p 7000");
            c.run(
                    13,
                    2,
                    "i=0; until echo hi | nc " + ipA + " 7000; do i=$((i+1)); "
                            + "[ $i -gt 50 ] && exit 1; sleep 0.1; done");
            assertThat(c.output(12)).isEqualTo("hi\n");
            assertThat(c.run(14, 3, "echo x | nc -w 2 " + ipA + " 7000; echo rc=$?"))
                    .contains("rc=1", "unreachable");
            assertThat(hostInterfaces()).isEqualTo(hostInterfacesBefore);

            c.close(1);
            c.close(2);
            assertThat(helperNamespaceFds(c, "user"))
                    .as("network t2's (t1 went with its last member)")
                    .hasSize(1);
            c.close(3);
            assertThat(helperNamespaceFds(c, "net")).isEmpty();
            assertThat(helperNamespaceFds(c, "user")).isEmpty();
        }
        assertThat(hostInterfaces()).isEqualTo(hostInterfacesBefore);
    }

    // ---- plumbing ----

    /** A helper run by uid 65534 (setpriv), on a rootfs and state dir of its own. */
    private ProtocolClient asNobody() throws IOException {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path state = Files.createDirectories(tmp.resolve("nobody-state"));
        try (Stream<Path> all = Stream.concat(Files.walk(rootfs), Stream.of(state))) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setAttribute(p, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:gid", NOBODY, LinkOption.NOFOLLOW_LINKS);
            }
        }
        return new ProtocolClient(
                state,
                List.of(
                        "setpriv",
                        "--reuid=" + NOBODY,
                        "--regid=" + NOBODY,
                        "--clear-groups",
                        HelperPaths.rootlessCopy(tmp).toString()));
    }

    private static String subnet(String ip) {
        return ip.substring(0, ip.lastIndexOf('.'));
    }

    private static Set<String> hostInterfaces() throws IOException {
        try (Stream<Path> entries = Files.list(Path.of("/sys/class/net"))) {
            return entries.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    /** The helper's open fds that are network namespaces ("net:[...]"), but its own (kept for FORWARD). */
    private static List<String> helperNetnsFds(Conversation c) throws IOException {
        return helperNamespaceFds(c, "net");
    }

    /** The helper's open fds that are namespaces of KIND ("user:[...]"), but its own. */
    private static List<String> helperNamespaceFds(Conversation c, String kind) throws IOException {
        return NamespaceFds.of(c.client.process().pid(), kind);
    }
}
