package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.CLOSE;
import static dev.isolated.internal.helper.FrameType.CREATE;
import static dev.isolated.internal.helper.FrameType.CREATED;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.EXITED;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.FrameType.UNAME;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CREATE is asynchronous inside {@code isolated-helper serve} (native/PROTOCOL.md): the helper keeps serving other
 * requests while an init sets its root up, answers CREATED or ERROR when the init reports, queues requests naming an
 * env still being created, and CLOSE or stdin EOF kill such an env.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve: asynchronous CREATE")
class HelperAsyncCreateTests {

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildRootfs() throws IOException {
        HelperPaths.helper();
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), List.of("sh", "echo", "true", "sleep", "hostname"));
    }

    @Test
    @DisplayName("two CREATEs sent back to back are both CREATED, each under its own id")
    void twoCreatesBackToBack() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.send(CREATE, 1, "rootfs=" + rootfs, "ns=pid,mount,uts,ipc", "hostname=one");
            server.send(CREATE, 2, "rootfs=" + rootfs, "ns=pid,mount,uts,ipc", "hostname=two");

            Map<Integer, Frame> replies = new HashMap<>();
            for (int i = 0; i < 2; i++) {
                Frame frame = server.read();
                replies.put(frame.id(), frame);
            }
            assertThat(replies).containsOnlyKeys(1, 2);
            assertThat(replies.get(1)).hasType(CREATED).fields().containsKey("pid");
            assertThat(replies.get(2)).hasType(CREATED).fields().containsKey("pid");
            assertThat(field(replies.get(1).fields(), "pid"))
                    .isNotEqualTo(field(replies.get(2).fields(), "pid"));

            assertThat(server.request(UNAME, 3, "env=1").fields()).containsEntry("hostname", "one");
            assertThat(server.request(UNAME, 4, "env=2").fields()).containsEntry("hostname", "two");
        }
    }

    @Test
    @DisplayName("requests naming an env still being created are queued until it is CREATED")
    void requestsWaitForTheEnv() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.send(CREATE, 1, "rootfs=" + rootfs, "ns=pid,mount,uts,ipc", "hostname=queued");
            server.send(SPAWN, 2, "env=1", "arg=hostname");
            server.send(UNAME, 3, "env=1");

            assertThat(server.read()).hasType(CREATED).hasId(1);
            assertThat(server.read()).hasType(SPAWNED).hasId(2);
            assertThat(server.read()).hasType(ACK).hasId(3).fields().containsEntry("hostname", "queued");
            assertThat(server.stdoutUntilExit(2)).isEqualTo("queued\n");
        }
    }

    /*
     * Robust form of "a SPAWN in B is not held up by the CREATE of A": the SPAWN is sent right behind the CREATE,
     * so a synchronous helper could only ever answer it after A's CREATED. Asynchronously the SPAWNED of B normally
     * comes first (the init of A still builds its root for about a millisecond); scheduling may sometimes let A win,
     * so 20 rounds must show it at least once rather than every time.
     */
    @Test
    @DisplayName("a SPAWN in a running env is answered while another env is being created")
    void spawnIsNotHeldUpByACreate() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(1, "rootfs=" + rootfs);
            int spawnedFirst = 0;
            int id = 10;
            for (int round = 0; round < 20; round++) {
                int env = id++;
                int proc = id++;
                server.send(CREATE, env, "rootfs=" + rootfs);
                server.send(SPAWN, proc, "env=1", "arg=true");
                int spawnedAt = -1;
                int createdAt = -1;
                boolean exited = false;
                for (int n = 0; createdAt < 0 || !exited; n++) {
                    Frame frame = server.read();
                    if (frame.type() == SPAWNED && frame.id() == proc) {
                        spawnedAt = n;
                    } else if (frame.type() == CREATED && frame.id() == env) {
                        createdAt = n;
                    } else if (frame.type() == EXITED && frame.id() == proc) {
                        exited = true;
                    } else {
                        throw new AssertionError("unexpected " + ProtocolClient.describe(frame));
                    }
                }
                assertThat(spawnedAt).isNotNegative();
                if (spawnedAt < createdAt) {
                    spawnedFirst++;
                }
                assertThat(server.request(CLOSE, id++, "env=" + env)).hasType(ACK);
            }
            assertThat(spawnedFirst)
                    .as("rounds where B's SPAWNED came before A's CREATED")
                    .isPositive();
        }
    }

    @Test
    @DisplayName("CLOSE right after CREATE: both are answered and nothing is left")
    void closeWhileCreating() throws Exception {
        long helper;
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            helper = server.process().pid();
            for (int round = 0; round < 5; round++) {
                int env = 10 * round + 1;
                server.send(CREATE, env, "rootfs=" + rootfs, "cgroup=true");
                server.send(CLOSE, env + 1, "env=" + env);

                Frame created = server.read();
                assertThat(created).hasId(env);
                if (created.type() == ERROR) {
                    assertThat(created)
                            .fields()
                            .containsEntry("errname", "ECANCELED")
                            .containsKeys("stage", "errno");
                } else {
                    assertThat(created).hasType(CREATED); // ready before the CLOSE was read: a plain close
                }
                assertThat(server.read()).hasType(ACK).hasId(env + 1);
                assertThat(children(helper)).as("children of the helper").isEmpty();
                assertThat(cgroupDirs("isolated-" + helper + "-", "-" + env))
                        .as("the env's cgroup")
                        .isEmpty();
            }
            assertThat(server.request(UNAME, 100, "env=1"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "request");
        }
        assertThat(initsOf(helper)).isEmpty();
    }

    @Test
    @DisplayName("a CREATE failing inside the init is an ERROR with stage and errno, and the helper goes on")
    void failingCreate() throws Exception {
        Path notADirectory = Files.writeString(tmp.resolve("file-rootfs"), "not a rootfs\n");
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            Frame bad = server.request(CREATE, 1, "rootfs=" + notADirectory);
            assertThat(bad).hasType(ERROR).hasId(1).fields().containsKeys("stage", "errno", "errname", "message");
            assertThat(field(bad.fields(), "stage")).isNotEqualTo("request");

            Frame missingBind =
                    server.request(CREATE, 2, "rootfs=" + rootfs, "bind=" + tmp.resolve("missing") + "\t/data\tro");
            assertThat(missingBind)
                    .hasType(ERROR)
                    .hasId(2)
                    .fields()
                    .containsEntry("stage", "bind")
                    .containsEntry("errname", "ENOENT");

            server.create(3, "rootfs=" + rootfs);
            assertThat(children(server.process().pid())).hasSize(1); // the init of 3, no leftover of 1 or 2
        }
    }

    @Test
    @DisplayName("stdin EOF during a CREATE: the helper kills the init and exits 0")
    void eofWhileCreating() throws Exception {
        Path state = tmp.resolve("state");
        long helper;
        try (ProtocolClient server = new ProtocolClient(state)) {
            helper = server.process().pid();
            server.send(CREATE, 1, "rootfs=" + rootfs, "cgroup=true");
            server.send(CREATE, 2, "rootfs=" + rootfs, "rootfs-mode=copy");
            server.closeStdin();

            assertThat(server.process().waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(server.process().exitValue()).isZero();
            assertThat(cgroupDirs("isolated-" + server.process().pid() + "-", "-1"))
                    .isEmpty();
        }
        assertThat(initsOf(helper)).isEmpty();
        assertThat(cgroupDirs("isolated-" + helper + "-", "-2")).isEmpty();
        assertThat(state).doesNotExist();
    }

    /**
     * @return the pids in {@code /proc/PID/task/TID/children}, over every thread, but the helper's lock keeper
     *     ({@code isolated-locks}, its child for its whole life as root, not an environment's)
     */
    private static List<String> children(long pid) throws IOException {
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
            StringBuilder all = new StringBuilder();
            for (Path task : tasks) {
                all.append(Files.readString(task.resolve("children"))).append(' ');
            }
            return Stream.of(all.toString().trim().split("\\s+"))
                    .filter(s -> !s.isEmpty())
                    .filter(s -> !isLockKeeper(s))
                    .toList();
        }
    }

    private static boolean isLockKeeper(String pid) {
        try {
            return Files.readString(Path.of("/proc", pid, "comm")).strip().equals("isolated-locks");
        } catch (IOException e) {
            return false; // gone meanwhile
        }
    }

    /**
     * @return the {@code isolated-init} processes of HELPER, once none is left or after 10 s (inits die briefly; a
     *     bound under load, no promise of speed): its
     *     children, or in one of its env cgroups ({@code isolated-<helper>-...}, where an init reparented after the
     *     helper's exit still is: a cgroup holding a process cannot be removed); never another helper's, of another
     *     test run on the machine
     */
    private static List<Long> initsOf(long helper) {
        try {
            return Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> initsNow(helper), List::isEmpty);
        } catch (ConditionTimeoutException stillThere) {
            return initsNow(helper);
        }
    }

    private static List<Long> initsNow(long helper) {
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(p -> isInitOf(p.pid(), helper))
                    .map(ProcessHandle::pid)
                    .toList();
        }
    }

    private static boolean isInitOf(long pid, long helper) {
        try {
            Path proc = Path.of("/proc/" + pid);
            if (!Files.readString(proc.resolve("cmdline")).contains("isolated-init")) {
                return false;
            }
            return Files.readString(proc.resolve("status")).contains("\nPPid:\t" + helper + "\n")
                    || Files.readString(proc.resolve("cgroup")).contains("/isolated-" + helper + "-");
        } catch (IOException gone) {
            return false;
        }
    }

    /** @return the cgroups named {@code PREFIX<token>SUFFIX} (token: the helper's 16 hex digits) */
    private static List<Path> cgroupDirs(String prefix, String suffix) throws IOException {
        Path root = Path.of("/sys/fs/cgroup");
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> found = Files.find(
                root,
                6,
                (p, a) -> a.isDirectory()
                        && p.getFileName() != null
                        && p.getFileName()
                                .toString()
                                .matches(java.util.regex.Pattern.quote(prefix) + "[0-9a-f]{16}"
                                        + java.util.regex.Pattern.quote(suffix)))) {
            return found.toList();
        }
    }
}
