package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.CREATE;
import static dev.isolated.internal.helper.FrameType.CREATED;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.STDIN;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One bad request fails alone; a new helper removes what a killed one left behind (native/PROTOCOL.md). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve, robustness")
class HelperRobustnessTests extends AbstractHelperCliTests {

    @Test
    @DisplayName("a frame type PROTOCOL.md lacks gets an ERROR of kind request for its id; the helper keeps serving")
    void unknownFrameType() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.sendRaw('Q', 7, "env=1\0".getBytes(StandardCharsets.UTF_8));

            Frame refused = server.read();
            assertThat(refused)
                    .hasType(ERROR)
                    .hasId(7)
                    .fields()
                    .containsEntry("stage", "request")
                    .containsEntry("errname", "EINVAL")
                    .containsEntry("message", "unknown frame type")
                    .containsEntry("kind", "request");
            assertThat(server.request(CREATE, 8, "rootfs=" + rootfs)).hasType(CREATED);
        }
    }

    @Test
    @DisplayName("an oversized frame gets an E2BIG error for its id alone; the helper keeps serving")
    void oversizedFrameFailsAlone() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(1, "rootfs=" + rootfs);

            Frame refused = server.request(SPAWN, 2, "env=1", "arg=echo", "arg=" + "x".repeat(2 << 20));
            assertThat(refused)
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "request")
                    .containsEntry("errname", "E2BIG")
                    .containsEntry("kind", "request");
            assertThat(refused.id()).isEqualTo(2);
            assertThat(ProtocolClient.field(refused.fields(), "message"))
                    .contains("exceeds the limit of 1048576 bytes");

            server.send(STDIN, 3, "data=" + "y".repeat(3 << 20)); // oversized STDIN: dropped without a reply
            server.request(SPAWN, 4, "env=1", "arg=echo", "arg=still serving");
            assertThat(server.stdoutUntilExit(4)).isEqualTo("still serving\n");
        }
    }

    @Test
    @DisplayName("an argument over the kernel's 128 KiB per-string limit fails that SPAWN at stage exec with E2BIG")
    void argumentTooLongForExecve() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(1, "rootfs=" + rootfs);

            Frame refused = server.request(SPAWN, 2, "env=1", "arg=echo", "arg=" + "x".repeat(200 << 10));
            assertThat(refused)
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "exec")
                    .containsEntry("errname", "E2BIG");

            server.request(
                    SPAWN,
                    3,
                    "env=1",
                    "arg=sh",
                    "arg=-c",
                    "arg=echo ${#1} ${#2}",
                    "arg=sh",
                    "arg=" + "a".repeat(100 << 10),
                    "arg=" + "b".repeat(100 << 10));
            assertThat(server.stdoutUntilExit(3)).isEqualTo("102400 102400\n");
        }
    }

    @Test
    @DisplayName("a new helper removes the state dir and cgroups of a killed one, not a live one's nor a foreign dir")
    void sweepsDeadHelpersStateDirs() throws Exception {
        Path states = Files.createDirectories(tmp.resolve("states"));
        Path foreign = Files.createDirectories(states.resolve("not-a-helper"));
        Path killedDir = states.resolve("killed");
        ProtocolClient killed = new ProtocolClient(killedDir);
        Fields chrooted =
                killed.create(1, "rootfs=" + rootfs, "ns=pid,uts"); // no mount ns: its chroot tree is in the state dir
        assertThat(killedDir.resolve("env-1")).isDirectory();
        Fields limited = killed.create(2, "rootfs=" + rootfs, "cgroup=true");
        List<Path> cgroups = envCgroups(chrooted, limited);
        assertThat(cgroups).allSatisfy(dir -> assertThat(dir).isDirectory());
        try (ProtocolClient live = new ProtocolClient(states.resolve("live"))) {
            killed.process().destroyForcibly(); // SIGKILL: no clean-up of its own
            killed.process().waitFor();
            for (Fields env : List.of(chrooted, limited)) { // the inits die with it (PDEATHSIG)
                long init = Long.parseLong(env.get("pid").orElseThrow());
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() ->
                                ProcessHandle.of(init).map(p -> !p.isAlive()).orElse(true));
            }
            assertThat(killedDir.resolve("isolated-helper.lock")).exists();

            try (ProtocolClient next = new ProtocolClient(states.resolve("next"))) {
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(killedDir));
                awaitGone(cgroups);
                assertThat(live.process().isAlive()).isTrue();
                assertThat(next.process().isAlive()).isTrue();
                assertThat(states.resolve("live")).isDirectory();
                assertThat(foreign).isDirectory();
            }
        }
    }

    @Test
    @DisplayName(
            "a helper of another JVM, in cgroups of its own, removes every env cgroup of a killed helper (where its lock file says), then that lock file")
    void sweepsDeadHelpersCgroupsFromAnotherJvm() throws Exception {
        assertThat(System.getProperty("user.name"))
                .as("this test moves a helper into cgroups of its own: run it as root")
                .isEqualTo("root");
        ProtocolClient killed = new ProtocolClient(tmp.resolve("killed"));
        Fields tracked = killed.create(1, "rootfs=" + rootfs, "ns=pid,uts");
        Fields limited = killed.create(2, "rootfs=" + rootfs, "cgroup=true");
        List<Path> cgroups = envCgroups(tracked, limited);
        String name = cgroups.get(0).getFileName().toString(); // isolated-<pid>-<token>-<id>
        Path lock = Path.of(
                "/run/isolated/helpers", name.substring("isolated-".length(), name.lastIndexOf('-')) + ".helper-lock");
        assertThat(lock).exists();
        // Another JVM (e.g. of another build on the machine) runs in cgroups of its own, here children of the bases
        // where the killed helper made its env cgroups: so its helper reaches none of them from its own cgroups.
        List<Path> otherJvm = cgroups.stream()
                .map(Path::getParent)
                .distinct()
                .map(base -> base.resolve("other-jvm-" + ProcessHandle.current().pid()))
                .toList();
        StringBuilder join = new StringBuilder();
        for (Path dir : otherJvm) {
            Files.createDirectories(dir);
            join.append("echo $$ > '").append(dir).append("/cgroup.procs' && ");
        }
        try {
            killed.process().destroyForcibly(); // SIGKILL: no clean-up of its own
            killed.process().waitFor();
            for (Fields env : List.of(tracked, limited)) { // the inits die with it (PDEATHSIG)
                long init = Long.parseLong(env.get("pid").orElseThrow());
                Awaitility.await()
                        .atMost(Duration.ofSeconds(10))
                        .until(() ->
                                ProcessHandle.of(init).map(p -> !p.isAlive()).orElse(true));
            }
            List<String> command = List.of(
                    "sh",
                    "-c",
                    join + "exec \"$0\" \"$@\"",
                    HelperPaths.helper().toString());
            try (ProtocolClient other =
                    new ProtocolClient(tmp.resolve("other-jvm"), command)) { // READY: its sweep is done
                String own = "/" + otherJvm.get(0).getFileName();
                assertThat(Files.readAllLines(Path.of("/proc/" + other.process().pid() + "/cgroup")))
                        .as("the other helper's cgroups")
                        .filteredOn(line -> line.endsWith(own))
                        .hasSize(otherJvm.size());
                awaitGone(cgroups);
                awaitGone(List.of(lock));
            }
        } finally {
            killed.process().destroyForcibly();
            for (Path dir : otherJvm) { // empty once the other helper exited
                Awaitility.await()
                        .atMost(Duration.ofSeconds(5))
                        .ignoreExceptions()
                        .until(() -> {
                            Files.deleteIfExists(dir);
                            return true;
                        });
            }
        }
    }

    @Test
    @DisplayName(
            "a dead helper's cgroup that a helper cannot remove yet keeps that helper's lock file, and the next helper removes it")
    void deadHelpersLockStaysUntilItsCgroupsAreGone() throws Exception {
        assertThat(System.getProperty("user.name"))
                .as("this test reads /run/isolated/helpers: run it as root")
                .isEqualTo("root");
        ProtocolClient killed = new ProtocolClient(tmp.resolve("killed"));
        Fields env = killed.create(1, "rootfs=" + rootfs, "ns=pid,uts");
        Path cgroup = Path.of(field(env, "kill-cgroup"));
        String name = cgroup.getFileName().toString(); // isolated-<pid>-<token>-<id>
        Path lock = Path.of(
                "/run/isolated/helpers", name.substring("isolated-".length(), name.lastIndexOf('-')) + ".helper-lock");
        // cgroups nested deeper than a sweep goes (16 levels below the env's): the env's cannot be removed while they
        // stay
        Path deepest = cgroup;
        for (int level = 1; level <= 17; level++) {
            deepest = Files.createDirectory(deepest.resolve("d" + level));
        }
        try {
            killed.process().destroyForcibly(); // SIGKILL: no clean-up of its own
            killed.process().waitFor();
            long init = Long.parseLong(field(env, "pid"));
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> ProcessHandle.of(init).map(p -> !p.isAlive()).orElse(true));
            try (ProtocolClient first = new ProtocolClient(tmp.resolve("first"))) { // READY: its sweep is done
                assertThat(cgroup).isDirectory();
                assertThat(lock)
                        .as("the lock file that proves the helper of %s dead", cgroup)
                        .exists();
                assertThat(first.process().isAlive()).isTrue();
            }
            for (Path dir = deepest; !dir.equals(cgroup); dir = dir.getParent()) {
                Files.delete(dir);
            }
            try (ProtocolClient next = new ProtocolClient(tmp.resolve("next"))) {
                awaitGone(List.of(cgroup, lock));
                assertThat(next.process().isAlive()).isTrue();
            }
        } finally {
            killed.process().destroyForcibly();
            for (Path dir = deepest; dir.startsWith(cgroup); dir = dir.getParent()) {
                Files.deleteIfExists(dir);
            }
        }
    }

    /**
     * Waits (10 s at most) until none of these paths exists: the sweep is done at READY, but another helper on the
     * machine (another JVM's) may be sweeping the same dead helper at that moment, holding its lock (then ours skips it).
     */
    private static void awaitGone(List<Path> paths) {
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .untilAsserted(() ->
                        assertThat(paths).allSatisfy(path -> assertThat(path).doesNotExist()));
    }

    /** The cgroup directories CREATED named for these envs (kill-cgroup, cgroup, cgroup-memory, ...), each once. */
    private static List<Path> envCgroups(Fields... envs) {
        List<Path> dirs = new ArrayList<>();
        for (Fields env : envs) {
            for (String key : List.of("kill-cgroup", "cgroup", "cgroup-memory", "cgroup-pids", "cgroup-cpu")) {
                env.get(key).map(Path::of).filter(dir -> !dirs.contains(dir)).ifPresent(dirs::add);
            }
        }
        assertThat(dirs).as("the envs' cgroups").isNotEmpty();
        return dirs;
    }

    @Test
    @DisplayName(
            "a new helper leaves alone the env cgroups of helpers it cannot judge dead: no lock file, or one held from another pid namespace")
    void sweepSparesHelpersItCannotJudge() throws Exception {
        assertThat(System.getProperty("user.name"))
                .as("this test writes /run/isolated/helpers: run it as root")
                .isEqualTo("root");
        List<Process> started = new ArrayList<>();
        List<Path> fakes = new ArrayList<>();
        Path held = Path.of("/run/isolated/helpers/999999-00000000000000aa.helper-lock");
        try (ProtocolClient first = new ProtocolClient(tmp.resolve("first"))) {
            Fields env = first.create(1, "rootfs=" + rootfs);
            Path base = Path.of(env.get("kill-cgroup")
                            .orElseThrow(() -> new AssertionError("CREATED names no kill-cgroup: " + env)))
                    .getParent();
            // pid 999999 runs in no pid namespace of ours: the old rule (kill(pid, 0) is ESRCH) took both for dead
            Process holder = new ProcessBuilder(
                            "unshare", "--pid", "--fork", "--kill-child", "flock", held.toString(), "sleep", "1000")
                    .start();
            started.add(holder);
            Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> Files.exists(held)
                            && new ProcessBuilder("flock", "-n", held.toString(), "true")
                                            .start()
                                            .waitFor()
                                    != 0);
            List<Process> sleepers = new ArrayList<>();
            for (String name : List.of("isolated-999999-00000000000000aa-1", "isolated-999998-00000000000000bb-1")) {
                Path fake = Files.createDirectory(base.resolve(name)); // the second: no lock file at all
                fakes.add(fake);
                Process sleeper = new ProcessBuilder("sleep", "1000").start();
                started.add(sleeper);
                sleepers.add(sleeper);
                Files.writeString(fake.resolve("cgroup.procs"), Long.toString(sleeper.pid()));
            }
            try (ProtocolClient next = new ProtocolClient(tmp.resolve("next"))) {
                next.create(1, "rootfs=" + rootfs); // its sweep has run
                Awaitility.await()
                        .during(Duration.ofMillis(300))
                        .atMost(Duration.ofSeconds(5))
                        .untilAsserted(() -> assertThat(sleepers)
                                .allSatisfy(p -> assertThat(p.isAlive()).isTrue()));
                assertThat(fakes).allSatisfy(dir -> assertThat(dir).isDirectory());
            }
        } finally {
            started.forEach(Process::destroyForcibly);
            for (Process p : started) {
                p.waitFor();
            }
            for (Path fake : fakes) {
                Awaitility.await()
                        .atMost(Duration.ofSeconds(5))
                        .ignoreExceptions()
                        .until(() -> {
                            Files.deleteIfExists(fake);
                            return true;
                        });
            }
            Files.deleteIfExists(held);
        }
    }
}
