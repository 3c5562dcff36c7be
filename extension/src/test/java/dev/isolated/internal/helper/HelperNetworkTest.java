package dev.isolated.internal.helper;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

import dev.isolated.internal.helper.HelperCliTest.Frame;
import dev.isolated.internal.helper.HelperCliTest.Server;

/**
 * CREATE {@code network=NAME} (PROTOCOL.md): private networks between environments, on
 * 10.213.k.0/24 addresses that exist only inside the helper's namespaces. Every address used
 * here is one the helper reported; the host's interfaces are checked to be left alone.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve: private networks")
class HelperNetworkTest {

    private static final List<String> APPLETS = List.of("sh", "ip", "nc", "echo", "sleep", "cat");

    private static final String NET_NS = "pid,mount,uts,ipc,net";

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildBusyboxRootfs() throws IOException {
        rootfs = tmp.resolve("rootfs");
        for (String dir : List.of("bin", "proc", "dev", "tmp", "etc")) {
            Files.createDirectories(rootfs.resolve(dir));
        }
        Files.copy(Path.of("/bin/busybox"), rootfs.resolve("bin/busybox"));
        for (String applet : APPLETS) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
        }
    }

    @Test
    @DisplayName("two envs on network t1 talk over eth0; an env on t2 cannot reach them; the host's interfaces are untouched; CLOSE destroys the switch namespaces")
    void privateNetworkBetweenTwoEnvironments() throws Exception {
        Set<String> hostInterfacesBefore = hostInterfaces();
        try (Conversation c = new Conversation(new Server(tmp.resolve("state")))) {
            Map<String, String> a = c.create(1, "network=t1");
            Map<String, String> b = c.create(2, "network=t1");
            Map<String, String> other = c.create(3, "network=t2");
            assertThat(a).containsEntry("network", "t1");
            assertThat(other).containsEntry("network", "t2");
            assertThat(List.of(a.get("ip"), b.get("ip"), other.get("ip"))).allMatch(ip -> ip.matches("10\\.213\\.\\d+\\.\\d+"))
                    .doesNotHaveDuplicates();
            assertThat(subnet(b.get("ip"))).isEqualTo(subnet(a.get("ip"))).isNotEqualTo(subnet(other.get("ip")));
            // three envs' netns fds and two switches
            assertThat(c.helperNetnsFds()).hasSize(5);

            assertThat(c.run(10, 1, "ip -o addr show eth0")).contains("eth0", "inet " + a.get("ip") + "/24");
            assertThat(c.run(11, 2, "ip -o addr show eth0")).contains("inet " + b.get("ip") + "/24");
            assertThat(c.run(12, 1, "ip -o link")).contains(": lo:", ": eth0@").doesNotContain("br0", "veth");

            // the listener's stdin is a pipe that stays open: busybox nc -l would stop at EOF of it
            c.spawn(13, 1, true, "nc -l -p 7000");
            c.run(14, 2, "i=0; until echo hi | nc " + a.get("ip") + " 7000; do i=$((i+1)); "
                    + "[ $i -gt 50 ] && exit 1; sleep 0.1; done");
            assertThat(c.output(13)).isEqualTo("hi\n");
            assertThat(c.exit(13)).containsEntry("code", "0");

            String blocked = c.run(15, 3, "echo x | nc -w 2 " + a.get("ip") + " 7000; echo rc=$?");
            assertThat(blocked).contains("rc=1").contains("unreachable");

            assertThat(hostInterfaces()).isEqualTo(hostInterfacesBefore);

            c.close(1);
            c.close(2);
            assertThat(c.helperNetnsFds()).as("env 3 and the switch of t2").hasSize(2);
            c.close(3);
            assertThat(c.helperNetnsFds()).isEmpty();
        }
        assertThat(hostInterfaces()).isEqualTo(hostInterfacesBefore);
    }

    @Test
    @DisplayName("a network freed by its last env can be created again; members get distinct addresses")
    void networkIsRecreatedAfterItsLastEnvironment() throws Exception {
        try (Conversation c = new Conversation(new Server(tmp.resolve("state")))) {
            String first = c.create(1, "network=again").get("ip");
            c.close(1);
            assertThat(c.helperNetnsFds()).isEmpty();

            String second = c.create(2, "network=again").get("ip");
            String third = c.create(3, "network=again").get("ip");
            assertThat(List.of(first, second, third)).allMatch(ip -> ip.matches("10\\.213\\.\\d+\\.\\d+"));
            assertThat(second).isNotEqualTo(third);
            assertThat(subnet(second)).isEqualTo(subnet(third));
            assertThat(c.run(4, 3, "ip -o addr show eth0")).contains("inet " + third + "/24");
        }
    }

    @Test
    @DisplayName("network= without net in ns, or with a bad name, is an ERROR with stage network")
    void badNetworkRequests() throws Exception {
        try (Server server = new Server(tmp.resolve("state"))) {
            Frame withoutNet = server.request('C', 1, "rootfs=" + rootfs, "ns=pid,mount", "network=t1");
            assertThat(withoutNet.type()).isEqualTo('E');
            assertThat(withoutNet.record()).containsEntry("stage", "network").containsEntry("errname", "EINVAL");
            assertThat(withoutNet.record().get("hint")).contains("net");

            Frame badName = server.request('C', 2, "rootfs=" + rootfs, "ns=" + NET_NS, "network=Not_Valid");
            assertThat(badName.type()).isEqualTo('E');
            assertThat(badName.record()).containsEntry("stage", "network").containsEntry("path", "Not_Valid");

            Frame tooLong = server.request('C', 3, "rootfs=" + rootfs, "ns=" + NET_NS, "network=a-name-of-16-char");
            assertThat(tooLong.type()).isEqualTo('E');
        }
    }

    // ---- plumbing ----

    private static String subnet(String ip) {
        return ip.substring(0, ip.lastIndexOf('.'));
    }

    private static Set<String> hostInterfaces() throws IOException {
        try (Stream<Path> entries = Files.list(Path.of("/sys/class/net"))) {
            return entries.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    /** A serve conversation that keeps every process's output, whatever order frames arrive in. */
    private final class Conversation implements AutoCloseable {

        final Server server;

        final String helperPid;

        final Map<Integer, StringBuilder> outputs = new HashMap<>();

        final Map<Integer, Map<String, String>> exits = new HashMap<>();

        int nextId = 1000;

        Conversation(Server server) {
            this.server = server;
            this.helperPid = Long.toString(server.process.pid());
        }

        Map<String, String> create(int id, String... fields) throws IOException {
            String[] all = Stream.concat(Stream.of("rootfs=" + rootfs, "ns=" + NET_NS), Stream.of(fields)).toArray(String[]::new);
            Frame created = reply(server.request('C', id, all));
            assertThat(created.type()).as(created.toString()).isEqualTo('c');
            return created.record();
        }

        void spawn(int id, int env, boolean stdinPipe, String script) throws IOException {
            Frame spawned = reply(stdinPipe
                    ? server.request('S', id, "env=" + env, "stdin=pipe", "arg=sh", "arg=-c", "arg=" + script)
                    : server.request('S', id, "env=" + env, "arg=sh", "arg=-c", "arg=" + script));
            assertThat(spawned.type()).as(spawned.toString()).isEqualTo('p');
        }

        /** Runs a script to its end; its stdout and stderr, which must end with code 0. */
        String run(int id, int env, String script) throws IOException {
            spawn(id, env, false, script);
            assertThat(exit(id)).as(output(id)).containsEntry("code", "0");
            return output(id);
        }

        Map<String, String> exit(int id) throws IOException {
            while (!exits.containsKey(id)) {
                collect(server.read());
            }
            return exits.get(id);
        }

        String output(int id) throws IOException {
            exit(id);
            return outputs.getOrDefault(id, new StringBuilder()).toString();
        }

        void close(int env) throws IOException {
            Frame ack = reply(server.request('X', nextId++, "env=" + env));
            assertThat(ack.type()).as(ack.toString()).isEqualTo('a');
        }

        /** The helper's open fds that are network namespaces ("net:[...]"), but its own (kept for FORWARD). */
        List<String> helperNetnsFds() throws IOException {
            String own = Files.readSymbolicLink(Path.of("/proc", helperPid, "ns", "net")).toString();
            try (Stream<Path> fds = Files.list(Path.of("/proc", helperPid, "fd"))) {
                return fds.map(fd -> {
                    try {
                        return Files.readSymbolicLink(fd).toString();
                    } catch (IOException closedMeanwhile) {
                        return "";
                    }
                }).filter(link -> link.startsWith("net:[") && !link.equals(own)).toList();
            }
        }

        /** The reply to a request: events of running processes that came first are kept. */
        private Frame reply(Frame frame) throws IOException {
            while (frame.type() == 'O' || frame.type() == 'R' || frame.type() == 'x') {
                collect(frame);
                frame = server.read();
            }
            return frame;
        }

        private void collect(Frame frame) {
            if (frame.type() == 'O' || frame.type() == 'R') {
                outputs.computeIfAbsent(frame.id(), k -> new StringBuilder()).append(new String(frame.payload(), UTF_8));
            } else if (frame.type() == 'x') {
                exits.put(frame.id(), frame.record());
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
