package dev.isolated.internal.helper;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the built {@code isolated-helper} as a user would, and checks what a user would check:
 * from inside ({@code ps}, {@code hostname}, {@code ip link}, mountinfo) and from the host.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper")
class HelperCliTest {

    private static final Path HELPER = Path.of("../native/target/classes/dev/isolated/native/linux-x86_64/isolated-helper")
            .toAbsolutePath()
            .normalize();

    private static final List<String> APPLETS = List.of("sh", "ps", "ls", "hostname", "mount", "cat", "ip", "sleep", "id",
            "echo", "true", "kill", "mkdir");

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildBusyboxRootfs() throws IOException {
        if (!Files.isExecutable(HELPER)) {
            fail("the helper is not built at %s: run `mvn -pl native install -DskipTests` first", HELPER);
        }
        // 0755 all the way, so that the unprivileged (uid 65534) test can read it too.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        rootfs = tmp.resolve("rootfs");
        for (String dir : List.of("bin", "proc", "dev", "tmp", "etc")) {
            Files.createDirectories(rootfs.resolve(dir));
        }
        Files.copy(Path.of("/bin/busybox"), rootfs.resolve("bin/busybox"));
        for (String applet : APPLETS) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        Files.writeString(rootfs.resolve("etc/rootfs-marker"), "from the image\n");
    }

    // ---- the command line ----

    @Test
    @DisplayName("--help describes every subcommand")
    void helpDescribesEverySubcommand() throws Exception {
        Result result = helper("--help");

        assertThat(result.code).isZero();
        assertThat(result.stdout).contains("isolated-helper run", "isolated-helper enter", "isolated-helper serve",
                "--rootfs", "--ns", "--as-pid-1", "--print-pid");
    }

    @Test
    @DisplayName("run: in a PID namespace the init is PID 1, the command is next, no host process is visible")
    void pidNamespaceShowsOnlyTheEnvironment() throws Exception {
        Result result = run("ps", "-o", "pid,comm");

        assertThat(result.code).as(result.stderr).isZero();
        assertThat(processLines(result.stdout)).containsExactly("1 isolated-init", "2 ps");
    }

    @Test
    @DisplayName("run --as-pid-1: the command itself is PID 1")
    void asPid1MakesTheCommandPid1() throws Exception {
        Result result = helper("run", "--rootfs", rootfs.toString(), "--as-pid-1", "--", "ps", "-o", "pid,comm");

        assertThat(result.code).as(result.stderr).isZero();
        assertThat(processLines(result.stdout)).containsExactly("1 ps");
    }

    @Test
    @DisplayName("run --hostname: set inside, and changing it inside leaves the host's alone")
    void hostnameIsPrivate() throws Exception {
        String hostBefore = hostHostname();

        Result result = helper("run", "--rootfs", rootfs.toString(), "--hostname", "box", "--", "sh", "-c",
                "hostname; hostname other; hostname");

        assertThat(result.code).as(result.stderr).isZero();
        assertThat(result.stdout).isEqualTo("box\nother\n");
        assertThat(hostHostname()).isEqualTo(hostBefore).isNotEqualTo("other");
    }

    @Test
    @DisplayName("run: a tmpfs mounted inside shows in the env's mountinfo, never in the host's")
    void mountsDoNotLeakToTheHost() throws Exception {
        String source = "isolated-marker-" + UUID.randomUUID();
        Process process = start("run", "--rootfs", rootfs.toString(), "--", "sh", "-c",
                "mkdir -p /tmp/m && mount -t tmpfs " + source + " /tmp/m && cat /proc/self/mountinfo && echo mounted && sleep 100");
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8))) {
            List<String> inside = new ArrayList<>();
            for (String line; (line = out.readLine()) != null && !line.equals("mounted");) {
                inside.add(line);
            }

            assertThat(inside).anySatisfy(line -> assertThat(line).contains(source));
            assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(source);
        } finally {
            process.destroyForcibly().waitFor();
        }
        assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(source);
    }

    @Test
    @DisplayName("run: / is the rootfs, not the host's root")
    void rootIsTheRootfs() throws Exception {
        Result result = run("sh", "-c", "ls /; cat /etc/rootfs-marker");

        assertThat(result.code).as(result.stderr).isZero();
        assertThat(result.stdout.lines()).containsExactly("bin", "dev", "etc", "proc", "tmp", "from the image");
        assertThat(Path.of("/usr/lib")).exists(); // on the host, that is
    }

    @Test
    @DisplayName("run --ns ...,net: only lo, and it is up")
    void networkNamespaceHasOnlyLoopbackUp() throws Exception {
        Result result = helper("run", "--rootfs", rootfs.toString(), "--ns", "pid,mount,net", "--", "ip", "link");

        assertThat(result.code).as(result.stderr).isZero();
        List<String> interfaces = result.stdout.lines().filter(line -> line.matches("^\\d+: .*")).toList();
        assertThat(interfaces).singleElement().satisfies(lo -> assertThat(lo).startsWith("1: lo:").contains("UP"));
    }

    @Nested
    @DisplayName("run exits with")
    class ExitCodes {

        @Test
        @DisplayName("the command's own code")
        void theCommandsCode() throws Exception {
            assertThat(run("sh", "-c", "exit 42").code).isEqualTo(42);
        }

        @Test
        @DisplayName("128+N when the command is killed by signal N")
        void signalPlus128() throws Exception {
            assertThat(run("sh", "-c", "kill -TERM $$").code).isEqualTo(128 + 15);
        }

        @Test
        @DisplayName("127 when the command does not exist in the environment")
        void notFound() throws Exception {
            Result result = run("no-such-command");

            assertThat(result.code).isEqualTo(127);
            assertThat(result.stderr).contains("exec", "no-such-command", "No such file or directory");
        }

        @Test
        @DisplayName("125 and a message naming the path when the rootfs does not exist")
        void badRootfs() throws Exception {
            Path missing = tmp.resolve("no-such-rootfs");

            Result result = helper("run", "--rootfs", missing.toString(), "--", "true");

            assertThat(result.code).isEqualTo(125);
            assertThat(result.stderr).contains("isolated-helper: mount-rootfs:", missing.toString(),
                    "hint: the rootfs directory does not exist");
        }
    }

    @Test
    @DisplayName("run: the overlay is writable, but writes reach neither the rootfs nor the next run")
    void overlayWritesAreThrownAway() throws Exception {
        Result first = run("sh", "-c", "echo data > /written && cat /written");
        Result second = run("ls", "/");

        assertThat(first.code).as(first.stderr).isZero();
        assertThat(first.stdout).isEqualTo("data\n");
        assertThat(rootfs.resolve("written")).doesNotExist();
        assertThat(second.stdout.lines()).doesNotContain("written");
    }

    @Test
    @DisplayName("run as an unprivileged user: a user namespace maps it to root, and PID 1 is the init")
    void rootlessRun() throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("helper-bin"));
        Path helper = Files.copy(HELPER, bin.resolve("isolated-helper"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwxr-xr-x"));

        Result result = exec(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", helper.toString(), "run",
                "--rootfs", rootfs.toString(), "--ns", "user,pid,mount,uts", "--", "sh", "-c", "id -u; ps -o pid,comm"));

        assertThat(result.code).as(result.stderr).isZero();
        assertThat(result.stdout.lines().findFirst()).contains("0");
        assertThat(processLines(result.stdout)).startsWith("1 isolated-init");
    }

    @Test
    @DisplayName("enter --pid joins a running environment")
    void enterJoinsARunningEnvironment() throws Exception {
        Process env = start("run", "--rootfs", rootfs.toString(), "--hostname", "envhost", "--print-pid", "--", "sleep",
                "100");
        try {
            String initPid = new BufferedReader(new InputStreamReader(env.getErrorStream(), UTF_8)).readLine();
            assertThat(initPid).startsWith("init-pid=");

            Result result = helper("enter", "--pid", initPid.substring("init-pid=".length()), "--", "sh", "-c",
                    "hostname; ps -o pid,comm");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout.lines().findFirst()).contains("envhost");
            assertThat(processLines(result.stdout)).contains("1 isolated-init", "2 sleep");
        } finally {
            env.destroyForcibly().waitFor();
        }
    }

    @Test
    @DisplayName("SIGKILL of run leaves no process of the environment behind")
    void sigkillLeavesNothingBehind() throws Exception {
        Process env = start("run", "--rootfs", rootfs.toString(), "--", "sleep", "1000");
        await().atMost(Duration.ofSeconds(5)).until(() -> !hostProcessesRunning("sleep", "1000").isEmpty());

        env.destroyForcibly().waitFor();

        await().atMost(Duration.ofSeconds(2))
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertThat(hostProcessesRunning("sleep", "1000")).isEmpty());
    }

    // ---- the serve protocol ----

    @Nested
    @DisplayName("serve")
    class Serve {

        @Test
        @DisplayName("creates an env, spawns, reports output and exit, reads the hostname, signals, closes")
        void fullConversation() throws Exception {
            try (Server server = new Server(tmp.resolve("state"))) {
                Frame created = server.request('C', 1, "rootfs=" + rootfs, "ns=pid,mount,uts,ipc", "hostname=served");
                assertThat(created.type).isEqualTo('c');
                assertThat(created.record()).containsEntry("rootfs-mode", "overlay").containsEntry("root", "pivot")
                        .containsKey("pid");

                Frame spawned = server.request('S', 2, "env=1", "arg=echo", "arg=hi");
                assertThat(spawned.type).isEqualTo('p');
                assertThat(spawned.record()).containsEntry("nspid", "2");
                assertThat(server.read()).isEqualTo(new Frame('O', 2, "hi\n".getBytes(UTF_8)));
                assertThat(server.read().is('x', 2, "code", "0")).isTrue();

                assertThat(server.request('U', 3, "env=1").record()).containsEntry("hostname", "served");

                assertThat(server.request('S', 4, "env=1", "arg=sleep", "arg=1000").type).isEqualTo('p');
                assertThat(server.request('K', 5, "proc=4", "signal=15").type).isEqualTo('a');
                assertThat(server.read().is('x', 4, "signal", "15")).isTrue();

                Frame closed = server.request('X', 6, "env=1");
                assertThat(closed.type).isEqualTo('a');
                assertThat(closed.id).isEqualTo(6);
                assertThat(Path.of("/proc", created.record().get("pid"))).doesNotExist();
            }
        }

        @Test
        @DisplayName("answers a bad rootfs with an ERROR naming the stage and errno")
        void errorForBadRootfs() throws Exception {
            try (Server server = new Server(tmp.resolve("state"))) {
                Frame error = server.request('C', 1, "rootfs=" + tmp.resolve("missing"));

                assertThat(error.type).isEqualTo('E');
                assertThat(error.id).isEqualTo(1);
                assertThat(error.record()).containsEntry("stage", "mount-rootfs")
                        .containsEntry("errno", "2")
                        .containsEntry("errname", "ENOENT")
                        .containsEntry("path", tmp.resolve("missing").toString())
                        .containsKey("hint");
            }
        }

        @Test
        @DisplayName("on EOF of its stdin kills what it spawned, cleans its state dir and exits 0")
        void stdinEofKillsEverything() throws Exception {
            Path state = tmp.resolve("state");
            Server server = new Server(state);
            server.request('C', 1, "rootfs=" + rootfs);
            Frame spawned = server.request('S', 2, "env=1", "arg=sleep", "arg=1000");
            Path sleeper = Path.of("/proc", spawned.record().get("pid"));
            assertThat(sleeper).exists();

            server.out.close();

            assertThat(server.process.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(server.process.exitValue()).isZero();
            assertThat(sleeper).doesNotExist();
            assertThat(state).doesNotExist();
        }
    }

    // ---- plumbing ----

    record Result(int code, String stdout, String stderr) {
    }

    private Result run(String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of("run", "--rootfs", rootfs.toString(), "--"));
        args.addAll(Arrays.asList(command));
        return helper(args.toArray(String[]::new));
    }

    private Result helper(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(HELPER.toString()));
        command.addAll(Arrays.asList(args));
        return exec(command);
    }

    private Result exec(List<String> command) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().remove("XDG_RUNTIME_DIR");
        Process process = builder.start();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("timed out: %s", command);
        }
        return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    private Process start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(HELPER.toString()));
        command.addAll(Arrays.asList(args));
        return new ProcessBuilder(command).start();
    }

    /** `ps -o pid,comm` lines without the header, whitespace collapsed: "1 isolated-init". */
    private static List<String> processLines(String psOutput) {
        return psOutput.lines().map(String::strip).filter(line -> line.matches("^\\d+ .*"))
                .map(line -> line.replaceAll("\\s+", " ")).toList();
    }

    private static String hostHostname() throws IOException {
        return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
    }

    private static List<Path> hostProcessesRunning(String... argv) throws IOException {
        byte[] wanted = (String.join("\0", argv) + "\0").getBytes(UTF_8);
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            return entries.filter(p -> p.getFileName().toString().matches("\\d+")).filter(p -> {
                try {
                    return Arrays.equals(Files.readAllBytes(p.resolve("cmdline")), wanted);
                } catch (IOException gone) {
                    return false;
                }
            }).toList();
        }
    }

    record Frame(char type, int id, byte[] payload) {

        Map<String, String> record() {
            Map<String, String> fields = new LinkedHashMap<>();
            for (String entry : new String(payload, UTF_8).split("\0")) {
                int eq = entry.indexOf('=');
                if (eq > 0) {
                    fields.putIfAbsent(entry.substring(0, eq), entry.substring(eq + 1));
                }
            }
            return fields;
        }

        boolean is(char expectedType, int expectedId, String key, String value) {
            return type == expectedType && id == expectedId && value.equals(record().get(key));
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Frame f && f.type == type && f.id == id && Arrays.equals(f.payload, payload);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * type + id) + Arrays.hashCode(payload);
        }

        @Override
        public String toString() {
            return type + "#" + id + " " + new String(payload, UTF_8).replace('\0', '|');
        }
    }

    /** The JVM side of PROTOCOL.md, reduced to what these tests need. */
    static final class Server implements AutoCloseable {

        final Process process;

        final DataOutputStream out;

        final DataInputStream in;

        Server(Path stateDir) throws IOException {
            Files.createDirectories(stateDir);
            process = new ProcessBuilder(HELPER.toString(), "serve", "--state-dir", stateDir.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            out = new DataOutputStream(process.getOutputStream());
            in = new DataInputStream(process.getInputStream());
            Frame ready = read();
            assertThat(ready.type).isEqualTo('h');
            assertThat(ready.record()).containsKeys("version", "pid");
        }

        Frame request(char type, int id, String... fields) throws IOException {
            ByteArrayOutputStream payload = new ByteArrayOutputStream();
            for (String field : fields) {
                payload.writeBytes(field.getBytes(UTF_8));
                payload.write(0);
            }
            out.writeInt(payload.size() + 5);
            out.writeByte(type);
            out.writeInt(id);
            out.write(payload.toByteArray());
            out.flush();
            return read();
        }

        Frame read() throws IOException {
            int length = in.readInt();
            char type = (char) in.readUnsignedByte();
            int id = in.readInt();
            byte[] payload = new byte[length - 5];
            in.readFully(payload);
            return new Frame(type, id, payload);
        }

        @Override
        public void close() throws IOException {
            out.close();
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }
}
