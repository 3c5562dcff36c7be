package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.HelperPaths.HELPER;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Runs the built {@code isolated-helper} as a user would, and checks what a user would check:
 * from inside ({@code ps}, {@code hostname}, {@code ip link}, mountinfo) and from the host. The other
 * {@code Helper*Test}s of this display name go on with mounts, hardening, cgroups, serve and probe.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper")
class HelperCliTests extends AbstractHelperCliTests {

    // ---- the command line ----

    @Test
    @DisplayName("--help describes every subcommand")
    void helpDescribesEverySubcommand() throws Exception {
        Result result = helper("--help");

        assertThat(result.code()).isZero();
        assertThat(result.stdout())
                .contains(
                        "isolated-helper run",
                        "isolated-helper enter",
                        "isolated-helper serve",
                        "--rootfs",
                        "--ns",
                        "--as-pid-1",
                        "--print-pid",
                        "isolated-helper probe",
                        "--json",
                        "--bind",
                        "--ro-bind",
                        "--tmpfs",
                        "--readonly-root",
                        "--memory-max",
                        "--pids-max",
                        "--cpu-max",
                        "--rlimit",
                        "--caps",
                        "--seccomp",
                        "--time-offset",
                        "--uid",
                        "--gid",
                        "--groups",
                        "--umask",
                        "--inherit-env");
    }

    @Test
    @DisplayName("run: in a PID namespace the init is PID 1, the command is next, no host process is visible")
    void pidNamespaceShowsOnlyTheEnvironment() throws Exception {
        Result result = run("ps", "-o", "pid,comm");

        assertThat(result.code()).as(result.stderr()).isZero();
        assertThat(processLines(result.stdout())).containsExactly("1 isolated-init", "2 ps");
    }

    @Test
    @DisplayName("run --as-pid-1: the command itself is PID 1")
    void asPid1MakesTheCommandPid1() throws Exception {
        Result result = helper("run", "--rootfs", rootfs.toString(), "--as-pid-1", "--", "ps", "-o", "pid,comm");

        assertThat(result.code()).as(result.stderr()).isZero();
        assertThat(processLines(result.stdout())).containsExactly("1 ps");
    }

    @Test
    @DisplayName("run --hostname: set inside, and changing it inside leaves the host's alone")
    void hostnameIsPrivate() throws Exception {
        String hostBefore = hostHostname();

        Result result = helper(
                "run",
                "--rootfs",
                rootfs.toString(),
                "--hostname",
                "box",
                "--",
                "sh",
                "-c",
                "hostname; hostname other; hostname");

        assertThat(result.code()).as(result.stderr()).isZero();
        assertThat(result.stdout()).isEqualTo("box\nother\n");
        assertThat(hostHostname()).isEqualTo(hostBefore).isNotEqualTo("other");
    }

    @Test
    @DisplayName("run: a tmpfs mounted inside shows in the env's mountinfo, never in the host's")
    void mountsDoNotLeakToTheHost() throws Exception {
        String source = "isolated-marker-" + UUID.randomUUID();
        Process process = start(
                "run",
                "--rootfs",
                rootfs.toString(),
                "--",
                "sh",
                "-c",
                "mkdir -p /tmp/m && mount -t tmpfs " + source
                        + " /tmp/m && cat /proc/self/mountinfo && echo mounted && sleep 100");
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8))) {
            List<String> inside = new ArrayList<>();
            for (String line; (line = out.readLine()) != null && !line.equals("mounted"); ) {
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

        assertThat(result.code()).as(result.stderr()).isZero();
        assertThat(result.stdout().lines()).containsExactly("bin", "dev", "etc", "proc", "tmp", "from the image");
        assertThat(Path.of("/usr/lib")).exists(); // on the host, that is
    }

    @Test
    @DisplayName("run --ns ...,net: only lo, and it is up")
    void networkNamespaceHasOnlyLoopbackUp() throws Exception {
        Result result = helper("run", "--rootfs", rootfs.toString(), "--ns", "pid,mount,net", "--", "ip", "link");

        assertThat(result.code()).as(result.stderr()).isZero();
        List<String> interfaces = result.stdout()
                .lines()
                .filter(line -> line.matches("^\\d+: .*"))
                .toList();
        assertThat(interfaces)
                .singleElement()
                .satisfies(lo -> assertThat(lo).startsWith("1: lo:").contains("UP"));
    }

    /** Prints the shell's pid, session and tty_nr (/proc/PID/stat) and whether /dev/tty opens. */
    static final String SESSION_PROBE =
            "read -r stat < /proc/$$/stat; set -- $stat; echo \"pid=$1 session=$6 tty_nr=$7\"; (exec 3</dev/tty) 2>/dev/null && echo tty-opened || echo no-tty";

    /** Runs the shell script {@code script} under util-linux script(1), i.e. with a terminal (a pty) of its own. */
    Result underTerminal(String script) throws Exception {
        Path file = Files.writeString(
                tmp.resolve("under-terminal.sh"),
                "exec 3</dev/tty && echo host-tty-opened\nexec 3<&-\n" + script + "\n");
        Result result = exec(List.of("script", "-qec", "sh " + file, "/dev/null"));
        return new Result(result.code(), result.stdout().replace("\r", ""), result.stderr());
    }

    static void assertOwnSessionWithoutTerminal(Result result) {
        assertThat(result.stdout())
                .startsWith("host-tty-opened\n")
                .contains("tty_nr=0\n")
                .endsWith("no-tty\n");
        String pid = result.stdout().replaceAll("(?s).*pid=(\\d+) .*", "$1");
        assertThat(result.stdout()).contains("pid=" + pid + " session=" + pid + " ");
    }

    @Test
    @DisplayName(
            "run: the command is a session of its own without the caller's terminal (no TIOCSTI into the developer's shell)")
    void runCommandHasNoControllingTerminal() throws Exception {
        Result result = underTerminal(HELPER + " run --rootfs " + rootfs + " -- sh -c '" + SESSION_PROBE + "'");

        assertThat(result.code()).as(result.stderr()).isZero();
        assertOwnSessionWithoutTerminal(result);
    }

    @Nested
    @DisplayName("run exits with")
    class ExitCodes {

        @Test
        @DisplayName("the command's own code")
        void theCommandsCode() throws Exception {
            assertThat(run("sh", "-c", "exit 42").code()).isEqualTo(42);
        }

        @Test
        @DisplayName("128+N when the command is killed by signal N")
        void signalPlus128() throws Exception {
            assertThat(run("sh", "-c", "kill -TERM $$").code()).isEqualTo(128 + 15);
        }

        @Test
        @DisplayName("127 when the command does not exist in the environment")
        void notFound() throws Exception {
            Result result = run("no-such-command");

            assertThat(result.code()).isEqualTo(127);
            assertThat(result.stderr()).contains("exec", "no-such-command", "No such file or directory");
        }

        @Test
        @DisplayName("126 when the command cannot be executed (a directory, a file without execute permission)")
        void cannotExecute() throws Exception {
            Result directory = run("/etc");
            Result notExecutable = run("/etc/rootfs-marker");

            assertThat(directory.code()).isEqualTo(126);
            assertThat(directory.stderr())
                    .isEqualTo("isolated-helper: exec: execve /etc: Permission denied\n"
                            + "hint: the command is not an executable file (a directory, or no execute permission), "
                            + "or a directory on its path cannot be searched\n");
            assertThat(notExecutable.code()).isEqualTo(126);
            assertThat(notExecutable.stderr()).startsWith("isolated-helper: exec: execve /etc/rootfs-marker: ");
        }

        @Test
        @DisplayName("125 and a message naming the option when it is unknown, lacks its value or takes none")
        void badOptions() throws Exception {
            Result unknown = helper("run", "--bogus", "--", "true");
            Result noValue = helper("run", "--rootfs");
            Result flagWithValue = helper("run", "--as-pid-1=yes", "--", "true");
            Result enterNoValue = helper("enter", "--pid");

            assertThat(unknown.code()).isEqualTo(125);
            assertThat(unknown.stderr())
                    .isEqualTo("isolated-helper: unknown option '--bogus'\nTry 'isolated-helper --help'.\n");
            assertThat(noValue.code()).isEqualTo(125);
            assertThat(noValue.stderr())
                    .isEqualTo("isolated-helper: --rootfs needs a value\nTry 'isolated-helper --help'.\n");
            assertThat(flagWithValue.code()).isEqualTo(125);
            assertThat(flagWithValue.stderr())
                    .isEqualTo("isolated-helper: --as-pid-1 takes no value\nTry 'isolated-helper --help'.\n");
            assertThat(enterNoValue.code()).isEqualTo(125);
            assertThat(enterNoValue.stderr()).startsWith("isolated-helper: --pid needs a value\n");
        }

        @Test
        @DisplayName("125 and a message naming the option when it is another subcommand's, never silently ignored")
        void anotherSubcommandsOption() throws Exception {
            Map<String, List<String>> misplaced = Map.of(
                    "enter takes no --rootfs", List.of("enter", "--rootfs", "/", "--pid", "1", "--", "true"),
                    "enter takes no --memory-max", List.of("enter", "--pid", "1", "--memory-max", "1m", "--", "true"),
                    "run takes no --pid", List.of("run", "--pid", "1", "--", "true"),
                    "probe takes no --ns", List.of("probe", "--ns", "pid"),
                    "serve takes no --json", List.of("serve", "--json"));
            for (Map.Entry<String, List<String>> c : misplaced.entrySet()) {
                Result result = helper(c.getValue().toArray(String[]::new));

                assertThat(result.code()).as("%s", c.getValue()).isEqualTo(125);
                assertThat(result.stderr())
                        .as("%s", c.getValue())
                        .isEqualTo("isolated-helper: " + c.getKey() + "\nTry 'isolated-helper --help'.\n");
            }
        }

        @Test
        @DisplayName("125 and a message naming the option and the value when a number is not one, never a partial read")
        void badNumbers() throws Exception {
            for (String pid : List.of("abc", "12x", "-5", "", " 7", "+7", "0", "99999999999")) {
                Result enter = helper("enter", "--pid", pid, "--", "true");

                assertThat(enter.code()).as("--pid '%s'", pid).isEqualTo(125);
                assertThat(enter.stderr())
                        .isEqualTo("isolated-helper: --pid wants a process id (a positive number), not '" + pid
                                + "'\nTry 'isolated-helper --help'.\n");
            }
            Result unshift =
                    helper("copy-layer", tmp.toString(), tmp.resolve("to").toString(), "-1");
            assertThat(unshift.code()).isEqualTo(125);
            assertThat(unshift.stderr())
                    .isEqualTo("isolated-helper: copy-layer's UNSHIFT wants a uid (0 to 4294967295), not '-1'\n"
                            + "Try 'isolated-helper --help'.\n");
            assertThat(tmp.resolve("to")).doesNotExist();
            Result size = helper("run", "--rootfs", rootfs.toString(), "--tmpfs", "/scratch:-1", "--", "true");
            assertThat(size.code()).isEqualTo(125);
            assertThat(size.stderr())
                    .isEqualTo("isolated-helper: tmpfs: mount /scratch:-1: Invalid argument\n"
                            + "hint: the tmpfs size is a number of bytes\n");
            Result uid = helper("run", "--rootfs", rootfs.toString(), "--uid", " 5", "--", "true");
            assertThat(uid.code()).isEqualTo(125);
            assertThat(uid.stderr())
                    .isEqualTo("isolated-helper: user: uid  5: Invalid argument\nhint: uid is a number\n");
        }

        @Test
        @DisplayName("125 and `working directory ... does not exist` when --cwd cannot be entered, not 127")
        void missingCwd() throws Exception {
            Result result = helper("run", "--rootfs", rootfs.toString(), "--cwd", "/does/not/exist", "--", "true");

            assertThat(result.code()).isEqualTo(125);
            assertThat(result.stderr())
                    .isEqualTo("isolated-helper: cwd: chdir /does/not/exist: No such file or directory\n"
                            + "hint: working directory /does/not/exist does not exist in the environment\n");
            Result file = helper("run", "--rootfs", rootfs.toString(), "--cwd", "/bin/sh", "--", "true");
            assertThat(file.code()).isEqualTo(125);
            assertThat(file.stderr()).contains("hint: working directory /bin/sh is not a directory\n");
        }

        @Test
        @DisplayName("125 and a message naming the path when the rootfs does not exist")
        void badRootfs() throws Exception {
            Path missing = tmp.resolve("no-such-rootfs");

            Result result = helper("run", "--rootfs", missing.toString(), "--", "true");

            assertThat(result.code()).isEqualTo(125);
            assertThat(result.stderr())
                    .contains(
                            "isolated-helper: mount-rootfs:",
                            missing.toString(),
                            "hint: the rootfs directory does not exist");
        }
    }

    @Test
    @DisplayName("run: the overlay is writable, but writes reach neither the rootfs nor the next run")
    void overlayWritesAreThrownAway() throws Exception {
        Result first = run("sh", "-c", "echo data > /written && cat /written");
        Result second = run("ls", "/");

        assertThat(first.code()).as(first.stderr()).isZero();
        assertThat(first.stdout()).isEqualTo("data\n");
        assertThat(rootfs.resolve("written")).doesNotExist();
        assertThat(second.stdout().lines()).doesNotContain("written");
    }

    @Test
    @DisplayName(
            "run --upper-dir DIR --layer FROZEN (the README's walk-through): the layers' files over the rootfs, topmost first; writes land in DIR/upper only")
    void diskUpperAndFrozenLayers() throws Exception {
        Path top = Files.createDirectories(tmp.resolve("frozen-top/etc"));
        Path lower = Files.createDirectories(tmp.resolve("frozen-lower/etc"));
        Files.writeString(top.resolve("which"), "top\n");
        Files.writeString(lower.resolve("which"), "lower\n");
        Files.writeString(lower.resolve("only-lower"), "lower only\n");
        Path layer = Files.createDirectory(tmp.resolve("layer"));

        Result result = runWith(
                List.of(
                        "--upper-dir",
                        layer.toString(),
                        "--layer",
                        top.getParent().toString(),
                        "--layer",
                        lower.getParent().toString()),
                "sh",
                "-c",
                "cat /etc/which /etc/only-lower /etc/rootfs-marker && echo new > /etc/which && echo made > /made");

        assertThat(result.code()).as(result.stderr()).isZero();
        assertThat(result.stdout()).isEqualTo("top\nlower only\nfrom the image\n");
        assertThat(layer.resolve("upper/made")).hasContent("made");
        assertThat(layer.resolve("upper/etc/which")).hasContent("new");
        assertThat(top.resolve("which")).hasContent("top");
        assertThat(lower.resolve("which")).hasContent("lower");
        assertThat(rootfs.resolve("made")).doesNotExist();
    }

    @Test
    @DisplayName(
            "run as root with a 0700 scratch directory (root's XDG_RUNTIME_DIR, /run/user/0, or --state-dir): the env starts, nothing is left there")
    void rootWithPrivateStateDir() throws Exception {
        Path runtime = Files.createDirectory(
                tmp.resolve("run-user-0"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));

        Result byXdg = exec(List.of(
                "env",
                "XDG_RUNTIME_DIR=" + runtime,
                HELPER.toString(),
                "run",
                "--rootfs",
                rootfs.toString(),
                "--",
                "cat",
                "/etc/rootfs-marker"));
        Result byOption = runWith(List.of("--state-dir", runtime.toString()), "cat", "/etc/rootfs-marker");
        Result chrooted =
                runWith(List.of("--state-dir", runtime.toString(), "--ns", "pid,uts"), "cat", "/etc/rootfs-marker");

        assertThat(byXdg.code()).as(byXdg.stderr()).isZero();
        assertThat(byXdg.stdout()).isEqualTo("from the image\n");
        assertThat(byOption.code()).as(byOption.stderr()).isZero();
        assertThat(byOption.stdout()).isEqualTo("from the image\n");
        assertThat(chrooted.code()).as(chrooted.stderr()).isZero();
        assertThat(chrooted.stdout()).isEqualTo("from the image\n");
        try (Stream<Path> left = Files.list(runtime)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    @DisplayName("run --env: the command's whole environment; without any, PATH and HOME=/")
    void environment() throws Exception {
        Result defaults = run("env");
        Result given = runWith(List.of("--env", "FOO=bar", "--env", "HOME=/root"), "/bin/env");

        assertThat(defaults.code()).as(defaults.stderr()).isZero();
        assertThat(defaults.stdout().lines())
                .containsExactlyInAnyOrder(
                        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/");
        assertThat(given.code()).as(given.stderr()).isZero();
        assertThat(given.stdout().lines()).containsExactly("FOO=bar", "HOME=/root");
    }

    @Test
    @DisplayName("run without pid: /proc is empty, also as root (its user namespace cannot mount the host's)")
    void withoutPidProcIsEmpty() throws Exception {
        Result result = runWith(List.of("--ns", "mount,uts"), "sh", "-c", "ls -A /proc; echo listed");

        assertThat(result.code()).as(result.stderr()).isZero();
        assertThat(result.stdout()).isEqualTo("listed\n");
    }

    /** What {@code sh -c "id -u; ps -o pid,comm"} printed: root inside, and the env's init as PID 1. */
    private static void assertRootWithTheInitAsPid1(Result result) {
        assertThat(result.code()).as(result.stderr()).isZero();
        assertThat(result.stdout().lines().findFirst()).contains("0");
        assertThat(processLines(result.stdout())).startsWith("1 isolated-init");
    }

    @Test
    @DisplayName("run as an unprivileged user: a user namespace maps it to root, and PID 1 is the init")
    void rootlessRun() throws Exception {
        Path helper = HelperPaths.rootlessCopy(tmp);

        Result result = exec(List.of(
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                helper.toString(),
                "run",
                "--rootfs",
                rootfs.toString(),
                "--ns",
                "user,pid,mount,uts",
                "--",
                "sh",
                "-c",
                "id -u; ps -o pid,comm"));

        assertRootWithTheInitAsPid1(result);
    }

    @Test
    @DisplayName(
            "enter as another user than the target's: 125 and a hint, never the command run outside its namespaces")
    void enterAnotherUsersProcess() throws Exception {
        Path helper = HelperPaths.rootlessCopy(tmp);
        Process target = new ProcessBuilder("unshare", "--uts", "sleep", seconds(30)).start();
        try {
            long pid = target.pid();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> !Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/uts"))
                            .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/uts"))));

            Result result = exec(List.of(
                    "setpriv",
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    helper.toString(),
                    "enter",
                    "--pid",
                    Long.toString(pid),
                    "--",
                    "sh",
                    "-c",
                    "echo ran"));

            assertThat(result.code()).as(result.stderr()).isEqualTo(125);
            assertThat(result.stdout()).isEmpty();
            assertThat(result.stderr())
                    .startsWith("isolated-helper: setns: open /proc/" + pid + "/ns/")
                    .endsWith(": Permission denied\nhint: the process's namespaces are not this user's to join: "
                            + "run enter as the user that created the environment, or root\n");
        } finally {
            target.destroyForcibly().waitFor();
        }
    }

    @Test
    @DisplayName(
            "a step refused with EACCES or EPERM and no hint of its own points to the probe, not to root or `user`")
    void refusedStepPointsToTheProbe() throws Exception {
        Path helper = HelperPaths.rootlessCopy(tmp);
        Path closed = Files.createDirectory(tmp.resolve("closed"));
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx------"));
        Path hidden = closed.resolve("rootfs");

        Result result = exec(List.of(
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                helper.toString(),
                "run",
                "--rootfs",
                hidden.toString(),
                "--",
                "true"));

        assertThat(result.code()).isEqualTo(125);
        assertThat(result.stderr())
                .isEqualTo("isolated-helper: mount-rootfs: realpath " + hidden + ": Permission denied\n"
                        + "hint: the host refused it: a file's permissions, a security policy (seccomp, AppArmor, "
                        + "SELinux) or a capability missing here; `isolated-helper probe` (from Java: "
                        + "HostSupport.probe()) names what this host refuses\n");
    }

    @Test
    @DisplayName(
            "run as root of a user namespace only (unshare -Ur, as podman unshare): its commands start, PID 1 is the init")
    void rootOfAUserNamespaceOnly() throws Exception {
        Result result = exec(List.of(
                "unshare",
                "--user",
                "--map-root-user",
                HELPER.toString(),
                "run",
                "--rootfs",
                rootfs.toString(),
                "--",
                "sh",
                "-c",
                "id -u; ps -o pid,comm"));

        assertRootWithTheInitAsPid1(result);
    }

    @Test
    @DisplayName(
            "a /proc of another PID namespace (unshare -p -f without --mount-proc) is refused at stage proc, naming the fix")
    void procOfAnotherPidNamespace() throws Exception {
        Result stale = exec(List.of(
                "unshare", "--pid", "--fork", HELPER.toString(), "run", "--rootfs", rootfs.toString(), "--", "true"));
        Result mounted = exec(List.of(
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                HELPER.toString(),
                "run",
                "--rootfs",
                rootfs.toString(),
                "--",
                "echo",
                "ran"));

        assertThat(stale.code()).isEqualTo(125);
        assertThat(stale.stderr())
                .isEqualTo("isolated-helper: proc: readlink /proc/self: Invalid argument\n"
                        + "hint: /proc is mounted for another PID namespace than the helper's: run it where /proc "
                        + "belongs to its own PID namespace, e.g. unshare --pid --fork --mount-proc\n");
        assertThat(mounted.code()).as(mounted.stderr()).isZero();
        assertThat(mounted.stdout()).isEqualTo("ran\n");
    }

    @Test
    @DisplayName("enter --pid joins a running environment")
    void enterJoinsARunningEnvironment() throws Exception {
        Process env = start(
                "run", "--rootfs", rootfs.toString(), "--hostname", "envhost", "--print-pid", "--", "sleep", "100");
        try {
            String initPid = new BufferedReader(new InputStreamReader(env.getErrorStream(), UTF_8)).readLine();
            assertThat(initPid).startsWith("init-pid=");

            Result result = helper(
                    "enter",
                    "--pid",
                    initPid.substring("init-pid=".length()),
                    "--",
                    "sh",
                    "-c",
                    "hostname; ps -o pid,comm");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertThat(result.stdout().lines().findFirst()).contains("envhost");
            assertThat(processLines(result.stdout())).contains("1 isolated-init", "2 sleep");
        } finally {
            env.destroyForcibly().waitFor();
        }
    }

    @Test
    @DisplayName("SIGKILL of run leaves no process of the environment behind")
    void sigkillLeavesNothingBehind() throws Exception {
        Process env = start("run", "--rootfs", rootfs.toString(), "--", "sleep", seconds(0));
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !hostProcessesRunning("sleep", seconds(0)).isEmpty());

        env.destroyForcibly().waitFor();

        await().atMost(Duration.ofSeconds(10)) // a bound under load, no promise of speed
                .pollInterval(Duration.ofMillis(20))
                .untilAsserted(() ->
                        assertThat(hostProcessesRunning("sleep", seconds(0))).isEmpty());
    }

    @Test
    @DisplayName("--time-offset boottime: /proc/uptime inside is a day ahead, the host's is not")
    void timeNamespaceOffsets() throws Exception {
        long hostBefore = uptime(Files.readString(Path.of("/proc/uptime")));

        Result result = runWith(
                List.of("--time-offset", "boottime:86400", "--time-offset", "monotonic:3600"), "cat", "/proc/uptime");

        long hostAfter = uptime(Files.readString(Path.of("/proc/uptime")));
        assertThat(result.code()).as(result.stderr()).isZero();
        assertThat(uptime(result.stdout())).isBetween(hostBefore + 8_640_000, hostAfter + 8_640_000 + 100);
        assertThat(hostAfter).isLessThan(hostBefore + 6_000);
    }

    // ---- enter ----

    @Nested
    @DisplayName("enter")
    class Enter {

        Process env;

        String initPid;

        @BeforeEach
        void startEnvironment() throws Exception {
            env = start("run", "--rootfs", rootfs.toString(), "--print-pid", "--", "sleep", "1000");
            initPid = new BufferedReader(new InputStreamReader(env.getErrorStream(), UTF_8))
                    .readLine()
                    .substring("init-pid=".length());
        }

        @AfterEach
        void stopEnvironment() throws Exception {
            env.destroyForcibly().waitFor();
        }

        @Test
        @DisplayName("the command is a session of its own without the caller's terminal")
        void noControllingTerminal() throws Exception {
            Result result = underTerminal(HELPER + " enter --pid " + initPid + " -- sh -c '" + SESSION_PROBE + "'");

            assertThat(result.code()).as(result.stderr()).isZero();
            assertOwnSessionWithoutTerminal(result);
        }

        @Test
        @DisplayName("--inherit-env: a ProcessBuilder's environment reaches the command unchanged")
        void inheritEnv() throws Exception {
            ProcessBuilder builder =
                    new ProcessBuilder(HELPER.toString(), "enter", "--pid", initPid, "--inherit-env", "--", "env");
            builder.environment().clear();
            builder.environment().put("PATH", "/bin");
            builder.environment().put("FROM_JAVA", "yes");
            Process process = builder.start();
            String out = new String(process.getInputStream().readAllBytes(), UTF_8);

            assertThat(process.waitFor()).isZero();
            assertThat(out.lines().sorted()).containsExactly("FROM_JAVA=yes", "PATH=/bin");
        }

        @Test
        @DisplayName("--uid/--gid, and the command's exit code")
        void uidGidAndExitCode() throws Exception {
            Result result = helper(
                    "enter", "--pid", initPid, "--uid", "1000", "--gid", "1000", "--", "sh", "-c", "id -u; exit 7");

            assertThat(result.code()).isEqualTo(7);
            assertThat(result.stdout()).isEqualTo("1000\n");
        }

        @Test
        @DisplayName("SIGTERM to enter is forwarded: the command dies of it and enter exits 143; 125 on setup failure")
        void forwardsSigterm() throws Exception {
            Process enter = start("enter", "--pid", initPid, "--", "sleep", seconds(1));
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> !hostProcessesRunning("sleep", seconds(1)).isEmpty());

            enter.destroy(); // SIGTERM

            assertThat(enter.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(enter.exitValue()).isEqualTo(128 + 15);
            assertThat(hostProcessesRunning("sleep", seconds(1))).isEmpty();
            assertThat(helper("enter", "--pid", "999999999", "--", "true").code())
                    .isEqualTo(125);
        }

        @Test
        @DisplayName("SIGKILL of enter kills the command and what it started (its supervisor inside does)")
        void sigkillOfEnterKillsTheCommand() throws Exception {
            Process enter = start(
                    "enter",
                    "--pid",
                    initPid,
                    "--uid",
                    "1000",
                    "--",
                    "sh",
                    "-c",
                    "sleep " + seconds(2) + " & exec sleep " + seconds(3));
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> !hostProcessesRunning("sleep", seconds(2)).isEmpty()
                            && !hostProcessesRunning("sleep", seconds(3)).isEmpty());

            enter.destroyForcibly().waitFor();

            // Nothing else would end them (the environment runs on): 10 s is no promise of speed, only a bound on
            // a machine under load, where the /proc scans of the condition alone can take a second.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(hostProcessesRunning("sleep", seconds(2))).isEmpty();
                assertThat(hostProcessesRunning("sleep", seconds(3))).isEmpty();
            });
        }

        @Test
        @DisplayName("SIGTERM to enter stops the command's process group; enter exits once all of it is gone")
        void sigtermStopsWhatTheCommandStarted() throws Exception {
            Process enter = start(
                    "enter",
                    "--pid",
                    initPid,
                    "--",
                    "sh",
                    "-c",
                    "exec 2>/dev/null; trap : TERM; sleep " + seconds(4) + " & sleep " + seconds(5) + "; exit 3");
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> !hostProcessesRunning("sleep", seconds(5)).isEmpty());

            enter.destroy(); // the shell handles it and exits 3, its sleeps die of it

            assertThat(enter.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(enter.exitValue()).isEqualTo(3);
            assertThat(hostProcessesRunning("sleep", seconds(4))).isEmpty();
            assertThat(hostProcessesRunning("sleep", seconds(5))).isEmpty();
        }
    }

    // ---- plumbing ----

    /** {@return /proc/uptime's first figure in hundredths of a second: exact, where doubles' sums are not} */
    private static long uptime(String procUptime) {
        return new java.math.BigDecimal(procUptime.strip().split(" ")[0])
                .movePointRight(2)
                .longValueExact();
    }

    private static String hostHostname() throws IOException {
        return Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
    }
}
