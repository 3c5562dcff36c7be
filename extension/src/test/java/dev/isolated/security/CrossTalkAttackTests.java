package dev.isolated.security;

import static dev.isolated.security.Attacks.env;
import static dev.isolated.security.Attacks.probe;
import static dev.isolated.security.Attacks.sh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Capabilities;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedNetwork;
import dev.isolated.IsolatedProcess;
import dev.isolated.Seccomp;
import dev.isolated.internal.helper.SharedHelper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cross-talk: between two environments, and between an environment and the host (its loopback services,
 * abstract sockets, loopback traffic, terminal, hostname, mount table, keyrings, the helper). Each attack has a
 * control in the same command or environment that shows the mechanism works where it is allowed.
 */
@DisplayName("security: cross-talk between environments and with the host")
class CrossTalkAttackTests {

    // ---- with the host ----

    @Test
    @DisplayName("a TCP service on the host's 127.0.0.1 is not reachable (the environment's own is)")
    void hostLoopbackTcp() throws Exception {
        try (ServerSocket host = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                IsolatedEnvironment env = env().start()) {
            ExecResult r = sh(
                    env,
                    "nc -l -p 7000 -e true & sleep 0.3; /net-probe tcp 127.0.0.1 7000; echo own=$?; "
                            + "/net-probe tcp 127.0.0.1 " + host.getLocalPort() + "; echo host=$?");
            assertThat(r.stdoutLines()).as(r.toString()).contains("own=0", "host=1");
            host.setSoTimeout(200);
            try {
                host.accept().close();
                throw new AssertionError("the host's service accepted a connection");
            } catch (SocketTimeoutException expected) {
                // nobody came
            }
        }
    }

    @Test
    @DisplayName(
            "a host service listening on every address is reached on none of the host's addresses, by a default environment or a private network's member")
    void hostAddresses() throws Exception {
        List<String> addresses = new java.util.ArrayList<>();
        for (var nic : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            for (var a : java.util.Collections.list(nic.getInetAddresses())) {
                if (a instanceof java.net.Inet4Address) {
                    addresses.add(a.getHostAddress());
                }
            }
        }
        assertThat(addresses).as("the host's IPv4 addresses").contains("127.0.0.1");
        try (ServerSocket host = new ServerSocket(0, 50, InetAddress.getByName("0.0.0.0"));
                IsolatedEnvironment alone = env().start();
                IsolatedEnvironment member = env().network(
                                "sec-" + UUID.randomUUID().toString().substring(0, 8))
                        .start()) {
            Process control = new ProcessBuilder(
                            Attacks.tools().resolve("net-probe").toString(),
                            "tcp",
                            addresses.get(0),
                            Integer.toString(host.getLocalPort()))
                    .start();
            assertThat(control.waitFor())
                    .as("control: the host reaches its own service")
                    .isZero();
            host.accept().close();
            StringBuilder script = new StringBuilder("ip -4 addr | grep -c inet; ");
            for (String a : addresses) {
                script.append("/net-probe tcp ")
                        .append(a)
                        .append(' ')
                        .append(host.getLocalPort())
                        .append("; echo ")
                        .append(a)
                        .append("=$?; ");
            }
            for (IsolatedEnvironment env : List.of(alone, member)) {
                ExecResult r = sh(env, script.toString());
                assertThat(r.stdoutLines())
                        .as(r.toString())
                        .containsAll(addresses.stream().map(a -> a + "=1").toList());
            }
            host.setSoTimeout(200);
            try {
                host.accept().close();
                throw new AssertionError("the host's service accepted a connection from an environment");
            } catch (SocketTimeoutException expected) {
                // nobody came
            }
        }
    }

    @Test
    @DisplayName("an abstract unix socket of the host is not reachable (a host client reaches it)")
    void hostAbstractSocket() throws Exception {
        String name = "isolated-attack-" + UUID.randomUUID();
        Process listener = new ProcessBuilder(
                        Attacks.tools().resolve("net-probe").toString(), "listen-abstract", name)
                .redirectErrorStream(true)
                .start();
        try (IsolatedEnvironment env = env().start()) {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(listener.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("ready");
            Process control =
                    new ProcessBuilder(Attacks.tools().resolve("net-probe").toString(), "abstract", name).start();
            assertThat(control.waitFor()).as("control: a host process connects").isZero();

            ExecResult r = sh(env, "/net-probe abstract " + name + "; echo rc=$?");
            assertThat(r.stdoutLines()).contains("rc=1");
        } finally {
            listener.destroyForcibly();
        }
    }

    @Test
    @DisplayName("a unix socket path of the host (like /run/docker.sock) is not in the environment")
    void hostUnixSocketPath(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("docker.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                IsolatedEnvironment env = env().start()) {
            server.bind(UnixDomainSocketAddress.of(sock));
            ExecResult r = sh(
                    env,
                    "for s in " + sock
                            + " /run/docker.sock /var/run/docker.sock; do test -e $s && echo found $s; done; "
                            + "find / -xdev -type s 2>/dev/null | wc -l");
            assertThat(r.stdoutLines()).containsExactly("probe-ran", "0", "probe-done");
        }
    }

    @Test
    @DisplayName("with NET_RAW a packet socket sniffs the environment's loopback, never the host's")
    void sniffHostLoopback() throws Exception {
        String marker = UUID.randomUUID().toString();
        AtomicBoolean stop = new AtomicBoolean();
        Thread sender = new Thread(() -> {
            try (DatagramSocket udp = new DatagramSocket()) {
                byte[] payload = ("outside-" + marker).getBytes(StandardCharsets.UTF_8);
                while (!stop.get()) {
                    udp.send(new DatagramPacket(
                            payload, payload.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), 9)));
                    Thread.sleep(20);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        sender.start();
        try (IsolatedEnvironment env = env().start()) {
            assertThat(probe(env, "sniff=" + marker)).contains("sniff-self=yes", "sniff-host=no");
        } finally {
            stop.set(true);
            sender.join();
        }
    }

    @Test
    @DisplayName("TIOCSTI (typing into the terminal that runs mvn) fails with EPERM")
    void tiocsti() {
        try (IsolatedEnvironment env = env().start()) {
            assertThat(probe(env, "tiocsti")).contains("tiocsti=EPERM");
        }
    }

    @Test
    @DisplayName("even with seccomp = UNCONFINED there is no controlling terminal: /dev/tty does not open (ENXIO)")
    void noControllingTerminal() {
        try (IsolatedEnvironment env = env().seccomp(Seccomp.UNCONFINED).start()) {
            assertThat(probe(env, "open=/dev/null", "open=/dev/tty"))
                    .containsExactly("open=ok", "open=ENXIO", "probe-done");
        }
    }

    @Test
    @DisplayName("with capabilities = ALL, `hostname` inside renames the environment, never the host")
    void hostHostname() throws Exception {
        String before = Files.readString(Path.of("/proc/sys/kernel/hostname"));
        try (IsolatedEnvironment env = env().capabilities(Capabilities.ALL).start()) {
            ExecResult r = sh(env, "hostname pwned-host && hostname");
            assertThat(r.stdoutLines()).contains("pwned-host");
        }
        assertThat(Files.readString(Path.of("/proc/sys/kernel/hostname"))).isEqualTo(before);
    }

    @Test
    @DisplayName("with capabilities = ALL, a mount inside never shows in the host's mount table")
    void hostMountTable() throws Exception {
        String tag = "isolated-attack-" + UUID.randomUUID();
        try (IsolatedEnvironment env = env().capabilities(Capabilities.ALL).start()) {
            ExecResult r = sh(
                    env,
                    "mkdir -p /mnt/x && mount -t tmpfs " + tag + " /mnt/x && grep -c " + tag + " /proc/self/mountinfo");
            assertThat(r.stdoutLines()).contains("1");
            assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(tag);
        }
    }

    @Test
    @DisplayName("the helper that supervises the environment is neither visible, signalled nor traced from inside")
    void helperOutOfReach() {
        long helper = SharedHelper.get().pid();
        try (IsolatedEnvironment env = env().start()) {
            List<String> lines = probe(env, "ptrace=" + helper);
            assertThat(lines).contains("ptrace=ESRCH");
            ExecResult r = sh(env, "kill -0 $$ && echo self=ok; kill -9 " + helper + "; echo kill=$?");
            assertThat(r.stdoutLines()).contains("self=ok", "kill=1");
            assertThat(ProcessHandle.of(helper).map(ProcessHandle::isAlive)).contains(true);
        }
    }

    @Test
    @DisplayName(
            "keyrings (seccomp = UNCONFINED): each command's session keyring is neither the JVM's nor another environment's or command's")
    void keyrings() throws Exception {
        Process hostProbe = new ProcessBuilder(Attacks.tools().resolve("probe").toString(), "keyring").start();
        String jvm = new String(hostProbe.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                .lines()
                .filter(l -> l.startsWith("keyring="))
                .findFirst()
                .orElseThrow();
        try (IsolatedEnvironment a = env().seccomp(Seccomp.UNCONFINED).start();
                IsolatedEnvironment b = env().seccomp(Seccomp.UNCONFINED).start()) {
            String a1 = probe(a, "add_key", "keyring").get(1);
            String a2 = probe(a, "keyring").get(0);
            String b1 = probe(b, "keyring").get(0);
            assertThat(List.of(a1, a2, b1))
                    .allMatch(k -> k.matches("keyring=\\d+"))
                    .doesNotHaveDuplicates()
                    .doesNotContain(jvm);
        }
    }

    // ---- between two environments ----

    @Test
    @DisplayName("one environment cannot kill another's process by its host pid; the victim lives")
    void killAnother() {
        try (IsolatedEnvironment victim = env().start();
                IsolatedEnvironment attacker = env().start()) {
            IsolatedProcess sleep = victim.start("sleep", "60");
            ExecResult r = sh(attacker, "kill -0 $$ && echo self=ok; kill -9 " + sleep.hostPid() + "; echo kill=$?");
            assertThat(r.stdoutLines()).contains("self=ok", "kill=1");
            assertThat(sleep.isAlive()).isTrue();
        }
    }

    @Test
    @DisplayName("ps in one environment does not show another's processes")
    void psAnother() {
        String marker = Attacks.marker();
        try (IsolatedEnvironment victim = env().start();
                IsolatedEnvironment attacker = env().start()) {
            victim.start("sleep", marker);
            ExecResult r = sh(attacker, "sleep 3" + marker + " & ps -o args; kill %1");
            assertThat(r.stdout()).contains("sleep 3" + marker).doesNotContain("sleep " + marker);
        }
    }

    @Test
    @DisplayName("/proc/<host pid>/root of another environment's process is not reachable")
    void procRootOfAnother() {
        try (IsolatedEnvironment victim = env().start();
                IsolatedEnvironment attacker = env().start()) {
            victim.writeString("/tmp/victim-secret", "victim-secret\n");
            IsolatedProcess sleep = victim.start("sleep", "60");
            List<String> lines = probe(
                    attacker,
                    "cat=/proc/self/root/etc/hostname",
                    "cat=/proc/" + sleep.hostPid() + "/root/tmp/victim-secret");
            assertThat(lines.get(0)).startsWith("cat=ok:");
            assertThat(lines.get(1)).isIn("cat=ENOENT", "cat=EACCES");
        }
    }

    @Test
    @DisplayName("SysV shared memory made in one environment is not found in another, nor on the host")
    void sysvShm() throws Exception {
        String key = Integer.toString(0x150000 + (int) (Math.random() * 0xffff));
        try (IsolatedEnvironment a = env().start();
                IsolatedEnvironment b = env().start()) {
            assertThat(probe(a, "shm-create=" + key, "shm-find=" + key))
                    .containsExactly("shm-create=ok", "shm-find=ok", "probe-done");
            assertThat(probe(b, "shm-find=" + key)).containsExactly("shm-find=ENOENT", "probe-done");
            assertThat(Files.readAllLines(Path.of("/proc/sysvipc/shm")))
                    .noneMatch(l -> l.trim().startsWith(key + " "));
        }
    }

    @Test
    @DisplayName("an abstract unix socket of one environment is not reachable from another (its own clients reach it)")
    void abstractSocketBetween() {
        String name = "isolated-between-" + UUID.randomUUID();
        try (IsolatedEnvironment a = env().start();
                IsolatedEnvironment b = env().start()) {
            IsolatedProcess listener = a.start("/net-probe", "listen-abstract", name);
            listener.awaitOutput(Pattern.compile("ready"));
            assertThat(sh(a, "/net-probe abstract " + name + "; echo rc=$?").stdoutLines())
                    .contains("rc=0");
            assertThat(sh(b, "/net-probe abstract " + name + "; echo rc=$?").stdoutLines())
                    .contains("rc=1");
        }
    }

    @Test
    @DisplayName("with capabilities = ALL, a private network's member that takes an address of another network's "
            + "subnet and a default route still reaches neither that network nor anything past its own switch")
    void otherNetworkWithNetAdmin() {
        try (IsolatedNetwork mine = IsolatedNetwork.newNetwork();
                IsolatedNetwork theirs = IsolatedNetwork.newNetwork();
                IsolatedEnvironment target =
                        env().hostname("target").network(theirs).start();
                IsolatedEnvironment neighbour =
                        env().hostname("neighbour").network(mine).start();
                IsolatedEnvironment attacker = env().hostname("attacker")
                        .capabilities(Capabilities.ALL)
                        .network(mine)
                        .start()) {
            target.start("nc", "-l", "-p", "7000");
            neighbour.start("nc", "-l", "-p", "7000");
            target.awaitPort(7000);
            neighbour.awaitPort(7000);
            String victim = target.address();
            String subnet = victim.substring(0, victim.lastIndexOf('.'));
            ExecResult r = sh(
                    attacker,
                    "ip addr add " + subnet + ".250/24 dev eth0 && echo added; ip route add default dev eth0 && echo "
                            + "routed; nc -w 2 " + victim + " 7000 </dev/null; echo target=$?; nc -w 2 "
                            + subnet + ".1 7000 </dev/null; echo gateway=$?; nc -w 2 neighbour 7000 </dev/null; "
                            + "echo neighbour=$?");
            assertThat(r.stdoutLines())
                    .as(r.toString())
                    .contains("added", "routed", "target=1", "gateway=1", "neighbour=0");
            assertThat(target.processes())
                    .as("the target's nc still waits, never reached")
                    .anyMatch(p -> p.commandLine().equals("nc -l -p 7000"));
        }
    }

    @Test
    @DisplayName("two environments bind port 8080 at once, each its own")
    void samePort() {
        try (IsolatedEnvironment a = env().start();
                IsolatedEnvironment b = env().start()) {
            IsolatedProcess la = a.start("nc", "-l", "-p", "8080");
            IsolatedProcess lb = b.start("nc", "-l", "-p", "8080");
            a.awaitPort(8080);
            b.awaitPort(8080);
            assertThat(la.isAlive()).isTrue();
            assertThat(lb.isAlive()).as(lb.stderr()).isTrue();
        }
    }

    @Test
    @DisplayName("with capabilities = ALL, a hostname set in one environment is not another's")
    void hostnameBetween() {
        try (IsolatedEnvironment a =
                        env().hostname("a").capabilities(Capabilities.ALL).start();
                IsolatedEnvironment b = env().hostname("b").start()) {
            assertThat(sh(a, "hostname pwned && hostname").stdoutLines()).contains("pwned");
            assertThat(b.hostname()).isEqualTo("b");
        }
    }

    @Test
    @DisplayName("files in /tmp and /dev/shm of one environment are not in another")
    void tmpBetween() {
        try (IsolatedEnvironment a = env().start();
                IsolatedEnvironment b = env().start()) {
            sh(a, "echo a > /tmp/planted && echo a > /dev/shm/planted && echo a > /planted");
            ExecResult r = sh(b, "ls /tmp/planted /dev/shm/planted /planted 2>/dev/null | wc -l");
            assertThat(r.stdoutLines()).containsExactly("probe-ran", "0", "probe-done");
        }
    }

    @Test
    @DisplayName("one environment's commands cannot trace another's process")
    void ptraceAnother() {
        try (IsolatedEnvironment victim = env().start();
                IsolatedEnvironment attacker = env().start()) {
            IsolatedProcess sleep = victim.start("sleep", "60");
            assertThat(probe(attacker, "ptrace=" + sleep.hostPid())).contains("ptrace=ESRCH");
            assertThat(sleep.isAlive()).isTrue();
        }
    }
}
