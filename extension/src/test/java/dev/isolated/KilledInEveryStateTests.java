package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.assertj.core.api.Assertions;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's *Nothing leaks*: a JVM killed with SIGKILL leaves no process, mount, cgroup, id range lock, network
 * interface or temp file of its environments, whatever they were doing. A child JVM (as root, and as uid 65534,
 * whose commands the zygote forks) is caught with all of these at once: a spare environment the extension made in
 * the background, a daemon a command of {@code enter(MOUNT, UTS)} left outside the PID namespace, a disk layer,
 * two environments on a private network, a port forward with an open connection and an exposed host port, a writer
 * blocked on the stdin of a command that reads nothing, and a WRITE (writeString) the helper holds a file open for.
 * The test checks that each was there before the kill, and from the host that nothing of it is left after. The
 * child also checks that closing an environment kills what an entered command left running.
 */
@DisplayName("a JVM killed with SIGKILL in the middle of everything")
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class KilledInEveryStateTests {

    @Test
    @DisplayName("leaves no process, mount, cgroup, id range lock, interface, port or temp file; its disk layer "
            + "directory is the only thing left, for the next JVM to remove")
    void killedInEveryState(@TempDir Path tmp) throws Exception {
        String marker = HostSleepers.ownSeconds(31);
        Path layers = Files.createDirectories(tmp.resolve("layers"));
        Path javaTmp = Files.createDirectories(tmp.resolve("java-tmp"));
        Before before = Before.take();
        Process child = startChild(javaTmp, layers, marker, EveryStateCase.class);

        killInEveryState(child, marker, layers, true);

        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo")))
                .as("host mounts under the child's directories")
                .noneMatch(mount -> mount.contains(tmp.toString()));
        before.assertNothingNew();
        try (Stream<Path> left = Files.walk(javaTmp)) {
            assertThat(left.filter(p -> !p.equals(javaTmp)))
                    .as("the child's java.io.tmpdir")
                    .isEmpty();
        }
    }

    @Test
    @DisplayName("as uid 65534 (the zygote forking its commands): leaves no process, mount, interface, port or "
            + "temp file; its disk layer directory is the only thing left, for the next JVM to remove")
    void killedInEveryStateRootless(@TempDir Path tmp) throws Exception {
        String marker = HostSleepers.ownSeconds(32);
        Path dir = NobodyJvm.runDirectory(tmp, "run");
        Path home = dir.resolve("home");
        Path layers = home.resolve("layers");
        Before before = Before.take();
        Set<Long> nobodyBefore = RootlessLeftovers.processesOfNobody();
        Process child = NobodyJvm.startFixture(
                dir,
                EveryStateCase.class,
                List.of(),
                List.of("-D" + IsolatedConfiguration.LAYER_DIR + "=" + layers, "-Dkilled.marker=" + marker));

        killInEveryState(child, marker, layers, false);

        assertThat(RootlessLeftovers.find(nobodyBefore, dir, marker))
                .as("processes of the child JVM left after it was killed")
                .isEmpty();
        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo")))
                .as("host mounts under the child's directories")
                .noneMatch(mount -> mount.contains(tmp.toString()));
        before.assertNothingNew();
        try (Stream<Path> left = Files.list(home)) {
            assertThat(left.map(p -> p.getFileName().toString()))
                    .as("the child's home and java.io.tmpdir: its caches and layer directory, no state directory")
                    .containsOnly(".cache", "layers");
        }
    }

    /**
     * Starts a child JVM running {@code fixture} with {@link FixtureRunner}, {@code java.io.tmpdir} and {@code
     * isolated.layer.dir} of the test's own and {@code -Dkilled.marker=MARKER}; its stderr goes to this JVM's.
     */
    static Process startChild(Path javaTmp, Path layers, String marker, Class<?> fixture) throws IOException {
        return new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Djava.io.tmpdir=" + javaTmp,
                        "-D" + IsolatedConfiguration.LAYER_DIR + "=" + layers,
                        "-Dkilled.marker=" + marker,
                        "-cp",
                        System.getProperty("java.class.path"),
                        FixtureRunner.class.getName(),
                        fixture.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
    }

    /** What the host had before the child: its interfaces and its mounts of Isolated. */
    private record Before(Set<String> links, List<String> mounts) {
        static Before take() throws IOException, InterruptedException {
            return new Before(hostLinks(), Files.readAllLines(Path.of("/proc/self/mountinfo")));
        }

        void assertNothingNew() throws IOException, InterruptedException {
            assertThat(hostLinks()).as("the host's network interfaces").isSubsetOf(links);
            assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo")))
                    .as("host mounts of Isolated")
                    .noneMatch(mount -> mount.contains("isolated") && !mounts.contains(mount));
        }
    }

    /**
     * Reads the child's lines up to its READY, checks that it is in every state, kills it with SIGKILL, and checks
     * that its processes, cgroups, identity and id range locks, ports and all but one disk layer directory are gone.
     */
    private static void killInEveryState(Process child, String marker, Path layers, boolean root) throws Exception {
        String[] ready;
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            List<String> before = new ArrayList<>();
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("READY ")) {
                before.add(line);
            }
            assertThat(line)
                    .as("the child JVM's READY line; it printed %s", before)
                    .isNotNull();
            ready = line.split(" ");
        } catch (IOException | RuntimeException | Error e) {
            child.destroyForcibly();
            throw e;
        }
        long helperPid = Long.parseLong(ready[1]);
        int mappedPort = Integer.parseInt(ready[2]);
        ProcessHandle helper = ProcessHandle.of(helperPid).orElseThrow();
        List<ProcessHandle> doomed = new ArrayList<>(List.of(helper));
        helper.descendants().forEach(doomed::add);
        List<Long> inits = named(doomed, "isolated-init");
        List<String> cgroups = new ArrayList<>();
        for (ProcessHandle p : doomed) {
            cgroups.addAll(isolatedCgroups(p.pid()));
        }
        List<Path> rangeLocks = new ArrayList<>();
        for (long init : root ? inits : List.<Long>of()) {
            String base = Files.readAllLines(Path.of("/proc", Long.toString(init), "uid_map"))
                    .get(0)
                    .trim()
                    .split("\\s+")[1];
            rangeLocks.add(Path.of("/run/isolated/userns", base + ".lock"));
        }
        // What the child is in, before the kill: so that each check below could fail.
        assertThat(inits)
                .as("the inits: the test's, the next spare, disk, two on a network, ports, write")
                .hasSizeGreaterThanOrEqualTo(6);
        if (root) {
            assertThat(named(doomed, "isolated-locks")).as("the lock keeper").hasSize(1);
            assertThat(cgroups).as("the environments' cgroups").isNotEmpty();
            assertThat(JvmExitTests.cgroupDirectories(cgroups)).isNotEmpty();
            assertThat(rangeLocks)
                    .allSatisfy(lock ->
                            assertThat(heldByOthers(lock)).as("%s held", lock).isTrue());
        } else {
            assertThat(named(doomed, "isolated-zygote")).as("the zygotes").isNotEmpty();
        }
        assertThat(HostSleepers.of(marker))
                .as("the sleeps: test's, entered, disk, network, stdin")
                .hasSize(5);
        assertThat(diskLayers(layers)).as("the disk layer").hasSize(1);
        Optional<Path> identityLock = cgroups.stream().findFirst().map(KilledInEveryStateTests::identityLock);
        identityLock.ifPresent(
                lock -> assertThat(lock).as("the helper's identity lock").exists());

        String pending = "/pending-" + marker;
        Awaitility.await() // the child's writeString loop, caught while the helper (or its child) holds the file
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(1))
                .until(() -> holdsOpen(
                        Stream.concat(Stream.of(helper), helper.descendants()).toList(), pending));
        ProcessHandle.of(child.pid()).orElseThrow().destroyForcibly(); // SIGKILL
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(child.exitValue()).isEqualTo(137);

        Awaitility.await()
                .atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> {
                    assertThat(doomed.stream().filter(ProcessHandle::isAlive).map(KilledInEveryStateTests::describe))
                            .as("the helper, lock keeper, inits, zygotes and commands")
                            .isEmpty();
                    assertThat(HostSleepers.of(marker)).isEmpty();
                    assertThat(JvmExitTests.cgroupDirectories(cgroups))
                            .as("the environments' cgroups")
                            .isEmpty();
                });
        identityLock.ifPresent(
                lock -> assertThat(lock).as("the helper's identity lock").doesNotExist());
        assertThat(rangeLocks)
                .allSatisfy(lock ->
                        assertThat(heldByOthers(lock)).as("%s held", lock).isFalse());
        Assertions.assertThatThrownBy(() -> new Socket("127.0.0.1", mappedPort).close())
                .as("the mapped port")
                .isInstanceOf(ConnectException.class);
        try (Stream<Path> left = Files.list(layers)) {
            assertThat(left.map(p -> p.getFileName().toString()))
                    .as("isolated.layer.dir: the killed JVM's directory, left for the next JVM (README)")
                    .singleElement()
                    .satisfies(name -> assertThat(name).startsWith("jvm-" + child.pid() + "-"));
        }
    }

    /** {@code /run/isolated/helpers/<pid>-<token>.helper-lock} of an environment cgroup's helper. */
    private static Path identityLock(String cgroup) {
        String name = cgroup.substring(cgroup.lastIndexOf('/') + 1); // isolated-<pid>-<token>-<id>
        return Path.of(
                "/run/isolated/helpers", name.substring("isolated-".length(), name.lastIndexOf('-')) + ".helper-lock");
    }

    /** Run by the child JVM, in this order: the third test takes a spare made while the second ran. */
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    @Isolated(rootfs = "busybox.tar")
    static class EveryStateCase {
        @Test
        @Order(1)
        void first(IsolatedEnvironment env) {
            assertThat(env.exec("true")).succeeded();
        }

        @Test
        @Order(2)
        void second(IsolatedEnvironment env) {
            assertThat(env.exec("true")).succeeded();
        }

        @Test
        @Order(3)
        void third(IsolatedEnvironment env) throws Exception {
            String marker = System.getProperty("killed.marker");
            String closed = marker + "0";
            try (IsolatedEnvironment entered =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                startEnteredDaemon(entered, closed);
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() -> HostSleepers.of(closed).size() == 1);
            }
            assertThat(HostSleepers.of(closed))
                    .as("a daemon of a command entered without PID, once its environment closed")
                    .isEmpty();

            env.start("sleep", marker);
            startEnteredDaemon(env, marker);

            IsolatedEnvironment disk = IsolatedEnvironment.builder()
                    .rootfs("busybox.tar")
                    .writableLayer(LayerStorage.DISK)
                    .start();
            disk.writeString("/on-disk", "x\n");
            disk.start("sleep", marker);

            for (String host : List.of("a", "b")) {
                IsolatedEnvironment member = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.NET)
                        .hostname(host)
                        .network("killed")
                        .start();
                if (host.equals("a")) {
                    member.start("sleep", marker);
                }
            }

            IsolatedEnvironment ports =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start();
            ports.start("nc", "-l", "-p", "7000");
            ports.awaitPort(7000);
            int mapped = ports.mappedPort(7000);
            Socket relayed = new Socket("127.0.0.1", mapped); // an open relay, never closed
            relayed.getOutputStream().write("hello\n".getBytes(StandardCharsets.UTF_8));
            ServerSocket hostServer = new ServerSocket(0); // never closed: the JVM dies with it
            ports.exposeHostPort(hostServer.getLocalPort());

            IsolatedProcess deaf = env.start(Command.of("sleep", marker).withOpenStdin());
            Thread blockedWriter = new Thread(() -> {
                try {
                    OutputStream stdin = deaf.stdin();
                    byte[] block = new byte[1 << 20];
                    for (int i = 0; i < 64; i++) {
                        stdin.write(block);
                    }
                } catch (IOException | RuntimeException e) {
                    // the kill ends it, if anything does
                }
            });
            blockedWriter.start();

            IsolatedEnvironment written =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start();
            String big = "x".repeat(256 << 20);
            String pending = "/pending-" + marker;
            Thread writer = new Thread(() -> {
                for (; ; ) {
                    written.writeString(pending, big);
                }
            });
            writer.setDaemon(true);
            writer.start();
            long helper = ProcessHandle.current()
                    .children()
                    .filter(p -> p.info().command().orElse("").endsWith("isolated-helper"))
                    .findFirst()
                    .orElseThrow()
                    .pid();
            // the writer waits once the window of the command's stdin (4 MiB, unread) is full
            while (blockedWriter.getState() != Thread.State.WAITING
                    || Stream.of(blockedWriter.getStackTrace())
                            .noneMatch(frame -> frame.getMethodName().equals("awaitRoom"))) {
                Thread.sleep(1);
            }
            System.out.println("READY " + helper + " " + mapped);
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }

        /** Starts {@code sleep SECONDS} outside the environment's PID namespace, and out of its process group. */
        private static void startEnteredDaemon(IsolatedEnvironment env, String seconds) {
            assertThat(env.enter(LinuxNamespace.MOUNT, LinuxNamespace.UTS)
                            .exec("sh", "-c", "setsid sleep " + seconds + " </dev/null >/dev/null 2>&1 &"))
                    .succeeded();
        }
    }

    /** Whether one of {@code processes} has an fd open on a path ending with {@code suffix}. */
    private static boolean holdsOpen(List<ProcessHandle> processes, String suffix) {
        for (ProcessHandle p : processes) {
            try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(p.pid()), "fd"))) {
                for (Path fd : (Iterable<Path>) fds::iterator) {
                    if (Files.readSymbolicLink(fd).toString().endsWith(suffix)) {
                        return true;
                    }
                }
            } catch (IOException gone) {
                // exited, or closed that fd, meanwhile
            }
        }
        return false;
    }

    static List<Long> named(List<ProcessHandle> processes, String comm) {
        return processes.stream()
                .map(ProcessHandle::pid)
                .filter(pid -> ParallelTests.comm(pid).equals(comm))
                .toList();
    }

    static String describe(ProcessHandle p) {
        return p.pid() + " " + ParallelTests.comm(p.pid()) + " "
                + p.info().commandLine().orElse("");
    }

    /** The {@code isolated-*} cgroup paths of a process. */
    static List<String> isolatedCgroups(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup")).stream()
                    .map(line -> line.substring(line.indexOf(':', line.indexOf(':') + 1) + 1))
                    .filter(path -> path.contains("/isolated-"))
                    .toList();
        } catch (IOException gone) {
            return List.of();
        }
    }

    /** Whether another process holds the flock of {@code lock} ({@code flock -n} fails). */
    private static boolean heldByOthers(Path lock) throws IOException, InterruptedException {
        Process flock = new ProcessBuilder("flock", "-n", "-E", "99", lock.toString(), "true")
                .redirectErrorStream(true)
                .start();
        String out = new String(flock.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int status = flock.waitFor();
        assertThat(status).as("flock -n %s: %s", lock, out).isIn(0, 99);
        return status == 99;
    }

    /** The names of the host's network interfaces ({@code ip -o link}). */
    private static Set<String> hostLinks() throws IOException, InterruptedException {
        Process ip = new ProcessBuilder("ip", "-o", "link").start();
        String out;
        try (InputStream in = ip.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(ip.waitFor()).isZero();
        return out.lines()
                .map(line -> line.split(":\\s*")[1].split("@")[0])
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static List<Path> diskLayers(Path root) throws IOException {
        return WritableLayerTests.diskLayers(root);
    }
}
