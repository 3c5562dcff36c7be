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
            "echo", "true", "kill", "mkdir", "tail", "touch", "grep", "env", "stat", "cut");

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
                "--rootfs", "--ns", "--as-pid-1", "--print-pid", "isolated-helper probe", "--json", "--bind", "--ro-bind",
                "--tmpfs", "--readonly-root", "--memory-max", "--pids-max", "--cpu-max", "--rlimit", "--caps", "--seccomp",
                "--time-offset", "--uid", "--gid", "--umask", "--inherit-env");
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

    // ---- mounts: binds, tmpfs, read-only root ----

    @Nested
    @DisplayName("mounts")
    class Mounts {

        Path hostDir;

        @BeforeEach
        void hostDirectory() throws IOException {
            hostDir = Files.createDirectories(tmp.resolve("host-dir"));
            Files.writeString(hostDir.resolve("data.txt"), "from the host\n");
            Files.setPosixFilePermissions(hostDir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(hostDir.resolve("data.txt"), PosixFilePermissions.fromString("rw-r--r--"));
        }

        @Test
        @DisplayName("--ro-bind: the host directory is visible at a new path and writes fail with EROFS")
        void readOnlyBind() throws Exception {
            Result result = runWith(List.of("--ro-bind", hostDir + ":/data/in"), "sh", "-c",
                    "cat /data/in/data.txt; echo x > /data/in/new; echo rc=$?");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).isEqualTo("from the host\nrc=1\n");
            assertThat(result.stderr).contains("Read-only file system");
            assertThat(hostDir.resolve("new")).doesNotExist();
            assertThat(rootfs.resolve("data")).doesNotExist(); // the target was created in the overlay only
        }

        @Test
        @DisplayName("--bind rw: writes reach the host directory; a single file can be bound too")
        void readWriteBindAndFileBind() throws Exception {
            Result result = runWith(List.of("--bind", hostDir + ":/data", "--bind", hostDir.resolve("data.txt") + ":/etc/bound.txt:ro"),
                    "sh", "-c", "echo written > /data/out.txt; cat /etc/bound.txt");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).isEqualTo("from the host\n");
            assertThat(hostDir.resolve("out.txt")).hasContent("written");
        }

        @Test
        @DisplayName("--bind of a missing source: exit 125, stage bind, naming source and target")
        void missingBindSource() throws Exception {
            Path missing = tmp.resolve("no-such-dir");

            Result result = runWith(List.of("--bind", missing + ":/data"), "true");

            assertThat(result.code).isEqualTo(125);
            assertThat(result.stderr).contains("isolated-helper: bind:", missing.toString(), "/data", "hint:");
        }

        @Test
        @DisplayName("a bind target behind an absolute symlink in the image resolves inside the root, never on the host")
        void bindTargetSymlinkCannotEscape() throws Exception {
            Path outside = Files.createDirectories(tmp.resolve("outside"));
            Files.createSymbolicLink(rootfs.resolve("to-etc"), Path.of("/etc")); // exists inside and on the host
            Files.createSymbolicLink(rootfs.resolve("to-outside"), outside); // exists only on the host
            for (String noOpenat2 : List.of("0", "1")) {
                List<String> helper = List.of("env", "ISOLATED_HELPER_NO_OPENAT2=" + noOpenat2, HELPER.toString(), "run",
                        "--rootfs", rootfs.toString());

                Result inside = exec(concat(helper, List.of("--ro-bind", hostDir + ":/to-etc/bound", "--", "cat", "/etc/bound/data.txt")));
                Result dangling = exec(concat(helper, List.of("--ro-bind", hostDir + ":/to-outside/bound", "--", "true")));

                assertThat(inside.code).as(inside.stderr).isZero();
                assertThat(inside.stdout).isEqualTo("from the host\n");
                assertThat(Path.of("/etc/bound")).doesNotExist();
                assertThat(rootfs.resolve("etc/bound")).doesNotExist();
                assertThat(dangling.code).isEqualTo(125);
                assertThat(dangling.stderr).contains("isolated-helper: bind:", "/to-outside/bound");
                assertThat(outside.resolve("bound")).as("with ISOLATED_HELPER_NO_OPENAT2=" + noOpenat2).doesNotExist();
            }
        }

        @Test
        @DisplayName("--tmpfs: mounted with the given size and mode")
        void tmpfsWithSizeAndMode() throws Exception {
            Result result = runWith(List.of("--tmpfs", "/scratch:1048576:700"), "sh", "-c",
                    "grep ' /scratch ' /proc/self/mountinfo; stat -c %a /scratch; echo x > /scratch/f && echo ok");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).contains("tmpfs", "size=1024k", "mode=700").endsWith("700\nok\n");
        }

        @Test
        @DisplayName("--readonly-root: writes to /etc fail with EROFS, /tmp, /dev/shm, tmpfs and rw binds stay writable")
        void readOnlyRoot() throws Exception {
            Result result = runWith(List.of("--readonly-root", "--tmpfs", "/scratch", "--bind", hostDir + ":/data"), "sh", "-c",
                    "touch /etc/stray; echo etc=$?; touch /tmp/a /dev/shm/a /scratch/a /data/a && echo writable");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).isEqualTo("etc=1\nwritable\n");
            assertThat(result.stderr).contains("/etc/stray", "Read-only file system");
        }

        @Test
        @DisplayName("rootless --ro-bind of a nosuid,nodev,noexec mount (locked flags in a user namespace) works")
        void rootlessReadOnlyBindOfLockedMount() throws Exception {
            Path helper = rootlessHelperCopy();
            Path locked = Files.createDirectories(tmp.resolve("locked"));
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));

            Result result = exec(List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
                    "mount -t tmpfs -o nosuid,nodev,noexec,mode=0755 locked " + locked + " && echo hi > " + locked + "/f && "
                            + "exec setpriv --reuid=65534 --regid=65534 --clear-groups " + helper + " run --rootfs " + rootfs
                            + " --ro-bind " + locked + ":/data -- sh -c 'cat /data/f; touch /data/g; echo rc=$?'"));

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).isEqualTo("hi\nrc=1\n");
            assertThat(result.stderr).contains("Read-only file system");
        }
    }

    // ---- hardening: no_new_privs, capabilities, rlimits, seccomp, ids, umask ----

    @Nested
    @DisplayName("hardening")
    class Hardening {

        @Test
        @DisplayName("no_new_privs is always set; by default root keeps every capability (mount works), core size is 0")
        void defaults() throws Exception {
            Result result = run("sh", "-c", "grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; ulimit -c; "
                    + "mkdir /tmp/m && mount -t tmpfs x /tmp/m && echo mounted");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).contains("NoNewPrivs:\t1", "\n0\n", "mounted").doesNotContain("CapEff:\t0000000000000000");
        }

        @Test
        @DisplayName("--caps default: Docker's capability set; mount is then refused")
        void dockerCaps() throws Exception {
            Result result = runWith(List.of("--caps", "default"), "sh", "-c",
                    "grep -E '^Cap(Eff|Bnd|Inh|Amb)' /proc/self/status; mount -t tmpfs x /tmp; echo mount=$?");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).contains("CapEff:\t00000000a80425fb", "CapBnd:\t00000000a80425fb",
                    "CapInh:\t0000000000000000", "CapAmb:\t0000000000000000").endsWith("mount=1\n");
        }

        @Test
        @DisplayName("--rlimit: soft and hard limits as given, `unlimited` allowed")
        void rlimits() throws Exception {
            Result result = runWith(List.of("--rlimit", "nofile:64:128", "--rlimit", "core:unlimited:unlimited"), "sh", "-c",
                    "ulimit -n; ulimit -Hn; ulimit -c");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).isEqualTo("64\n128\nunlimited\n");
        }

        @Test
        @DisplayName("--seccomp: a raw cBPF filter denying mkdir gives EPERM for mkdir only")
        void seccompFilter() throws Exception {
            Path filter = tmp.resolve("no-mkdir.bpf");
            Files.write(filter, denyMkdirFilter());

            Result result = runWith(List.of("--seccomp", filter.toString()), "sh", "-c", "mkdir /tmp/x; echo rc=$?; echo alive");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).isEqualTo("rc=1\nalive\n");
            assertThat(result.stderr).contains("Operation not permitted");
        }

        @Test
        @DisplayName("--seccomp with a missing or malformed file: exit 125, stage seccomp")
        void badSeccompFile() throws Exception {
            Path odd = Files.write(tmp.resolve("odd.bpf"), new byte[] {1, 2, 3});

            Result missing = runWith(List.of("--seccomp", tmp.resolve("none.bpf").toString()), "true");
            Result malformed = runWith(List.of("--seccomp", odd.toString()), "true");

            assertThat(missing.code).isEqualTo(125);
            assertThat(missing.stderr).contains("isolated-helper: seccomp:", "none.bpf");
            assertThat(malformed.code).isEqualTo(125);
            assertThat(malformed.stderr).contains("isolated-helper: seccomp:", "sock_filter");
        }

        @Test
        @DisplayName("--uid/--gid/--umask: the command runs as that user, without groups, with that umask")
        void uidGidUmask() throws Exception {
            Result result = runWith(List.of("--uid", "1000", "--gid", "1001", "--umask", "077"), "sh", "-c",
                    "id; umask; grep -E '^(Groups|CapEff)' /proc/self/status");

            assertThat(result.code).as(result.stderr).isZero();
            assertThat(result.stdout).startsWith("uid=1000 gid=1001").contains("\n0077\n", "CapEff:\t0000000000000000")
                    .containsPattern("Groups:\\s*\n");
        }

        @Test
        @DisplayName("--uid not mapped in the user namespace: exit 125, stage user, naming the id")
        void unmappedUid() throws Exception {
            Result result = runWith(List.of("--ns", "user,pid,mount", "--uid", "1000"), "id");

            assertThat(result.code).isEqualTo(125);
            assertThat(result.stderr).contains("isolated-helper: user:", "uid 1000", "not mapped");
        }
    }

    @Test
    @DisplayName("--time-offset boottime: /proc/uptime inside is a day ahead, the host's is not")
    void timeNamespaceOffsets() throws Exception {
        double hostBefore = uptime(Files.readString(Path.of("/proc/uptime")));

        Result result = runWith(List.of("--time-offset", "boottime:86400", "--time-offset", "monotonic:3600"), "cat",
                "/proc/uptime");

        double hostAfter = uptime(Files.readString(Path.of("/proc/uptime")));
        assertThat(result.code).as(result.stderr).isZero();
        assertThat(uptime(result.stdout)).isBetween(hostBefore + 86400, hostAfter + 86400 + 1);
        assertThat(hostAfter).isLessThan(hostBefore + 60);
    }

    // ---- cgroups ----

    @Nested
    @DisplayName("cgroups")
    class Cgroups {

        @Test
        @DisplayName("CREATE memory-max: CREATED names the cgroup; an OOM kill is reported as oom=true, signal 9; CLOSE removes it")
        void oomKillIsReported() throws Exception {
            try (Server server = new Server(tmp.resolve("state"))) {
                Frame created = server.request('C', 1, "rootfs=" + rootfs, "memory-max=33554432");
                assertThat(created.type).as(created.toString()).isEqualTo('c');
                Map<String, String> fields = created.record();
                Path memory = Path.of(fields.get("1".equals(fields.get("cgroup-version")) ? "cgroup-memory" : "cgroup"));
                assertThat(memory).isDirectory();
                assertThat(Files.readString(memory.resolve(fields.get("cgroup-version").equals("1") ? "memory.limit_in_bytes" : "memory.max")))
                        .isEqualTo("33554432\n");

                assertThat(server.request('S', 2, "env=1", "arg=tail", "arg=/dev/zero").type).isEqualTo('p');
                Frame exited = server.readUntil('x', 2);
                assertThat(exited.record()).containsEntry("signal", "9").containsEntry("oom", "true");

                assertThat(server.request('S', 3, "env=1", "arg=true").type).isEqualTo('p');
                assertThat(server.readUntil('x', 3).record()).containsEntry("code", "0").doesNotContainKey("oom");

                assertThat(server.request('X', 4, "env=1").type).isEqualTo('a');
                assertThat(memory).doesNotExist();
            }
        }

        @Test
        @DisplayName("CREATE pids-max=20: a loop starting 200 sleeps sees fork failures, the env holds at most 20 tasks")
        void pidsLimitStopsAForkLoop() throws Exception {
            try (Server server = new Server(tmp.resolve("state"))) {
                Frame created = server.request('C', 1, "rootfs=" + rootfs, "pids-max=20");
                assertThat(created.type).as(created.toString()).isEqualTo('c');
                Path pids = Path.of(created.record().getOrDefault("cgroup-pids", created.record().get("cgroup")));

                server.request('S', 2, "env=1", "arg=sh", "arg=-c",
                        "arg=i=0; while [ $i -lt 200 ]; do sleep 100 & i=$((i+1)); done");
                StringBuilder stderr = new StringBuilder();
                Frame exited;
                while ((exited = server.read()).type != 'x') {
                    if (exited.type == 'R') {
                        stderr.append(new String(exited.payload, UTF_8));
                    }
                }

                assertThat(exited.record()).doesNotContainEntry("code", "0");
                assertThat(stderr).contains("can't fork");
                assertThat(Integer.parseInt(Files.readString(pids.resolve("pids.current")).strip())).isBetween(1, 20);
                assertThat(server.request('X', 3, "env=1").type).isEqualTo('a');
                assertThat(pids).doesNotExist();
            }
            assertThat(run("echo", "host survives").stdout).isEqualTo("host survives\n");
        }

        @Test
        @DisplayName("CREATE cpu-max: the quota and period are set; spawned processes and the init are in the env's cgroup")
        void cpuLimitAndMembership() throws Exception {
            try (Server server = new Server(tmp.resolve("state"))) {
                Frame created = server.request('C', 1, "rootfs=" + rootfs, "cpu-max=20000\t100000", "cgroup=true");
                assertThat(created.type).as(created.toString()).isEqualTo('c');
                Map<String, String> fields = created.record();
                if ("1".equals(fields.get("cgroup-version"))) {
                    Path cpu = Path.of(fields.get("cgroup-cpu"));
                    assertThat(cpu.resolve("cpu.cfs_quota_us")).hasContent("20000");
                    assertThat(cpu.resolve("cpu.cfs_period_us")).hasContent("100000");
                    assertThat(fields).containsKeys("cgroup-memory", "cgroup-pids");
                } else {
                    assertThat(Path.of(fields.get("cgroup"), "cpu.max")).hasContent("20000 100000");
                }
                Frame spawned = server.request('S', 2, "env=1", "arg=sleep", "arg=100");
                String dir = fields.getOrDefault("cgroup-pids", fields.get("cgroup"));
                List<String> members = Files.readAllLines(Path.of(dir, "cgroup.procs"));
                assertThat(members).contains(fields.get("pid"), spawned.record().get("pid"));
            }
        }

        @Test
        @DisplayName("enter --pid: the command starts in the env's cgroups (same /proc/PID/cgroup as the init), so pids-max applies to it")
        void enterJoinsTheCgroups() throws Exception {
            try (Server server = new Server(tmp.resolve("state"))) {
                Frame created = server.request('C', 1, "rootfs=" + rootfs, "pids-max=10", "memory-max=67108864");
                assertThat(created.type).as(created.toString()).isEqualTo('c');
                String init = created.record().get("pid");
                Path pids = Path.of(created.record().getOrDefault("cgroup-pids", created.record().get("cgroup")));
                String initCgroups = Files.readString(Path.of("/proc", init, "cgroup"));
                assertThat(initCgroups).isNotEqualTo(Files.readString(Path.of("/proc/self/cgroup")));

                Process enter = start("enter", "--pid", init, "--", "sleep", "1004");
                try {
                    await().atMost(Duration.ofSeconds(5)).until(() -> !hostProcessesRunning("sleep", "1004").isEmpty());
                    Path command = hostProcessesRunning("sleep", "1004").get(0);

                    assertThat(Files.readString(command.resolve("cgroup"))).isEqualTo(initCgroups);
                    assertThat(Files.readAllLines(pids.resolve("cgroup.procs"))).contains(command.getFileName().toString());
                } finally {
                    enter.destroyForcibly().waitFor();
                }

                Result forkLoop = helper("enter", "--pid", init, "--", "sh", "-c",
                        "i=0; while [ $i -lt 50 ]; do sleep 100 & i=$((i+1)); done");
                assertThat(forkLoop.stderr).contains("can't fork");
                assertThat(Integer.parseInt(Files.readString(pids.resolve("pids.current")).strip())).isBetween(1, 10);

                assertThat(server.request('X', 2, "env=1").type).isEqualTo('a');
                assertThat(pids).doesNotExist();
            }
        }

        @Test
        @DisplayName("run --memory-max: an OOM kill exits 137 and says so on stderr")
        void runReportsOom() throws Exception {
            Result result = runWith(List.of("--memory-max", "32m"), "tail", "/dev/zero");

            assertThat(result.code).isEqualTo(137);
            assertThat(result.stderr).contains("OOM killer");
        }
    }

    // ---- SPAWN fields ----

    @Test
    @DisplayName("serve: SPAWN uid/gid/umask/caps and CREATE caps/rlimit/readonly-root/bind/tmpfs/time-offset fields")
    void spawnAndCreateFields() throws Exception {
        Path hostDir = Files.createDirectories(tmp.resolve("served-dir"));
        Files.writeString(hostDir.resolve("f"), "bound\n");
        try (Server server = new Server(tmp.resolve("state"))) {
            Frame created = server.request('C', 1, "rootfs=" + rootfs, "caps=default", "rlimit=nofile\t50\t60",
                    "readonly-root=true", "bind=" + hostDir + "\t/data\tro", "tmpfs=/scratch\t0\t1777",
                    "time-offset=boottime\t86400");
            assertThat(created.type).as(created.toString()).isEqualTo('c');

            server.request('S', 2, "env=1", "arg=sh", "arg=-c",
                    "arg=grep CapEff /proc/self/status; ulimit -n; cat /data/f; touch /etc/x 2>/dev/null || echo ro; "
                            + "touch /scratch/y && echo scratch; cut -d. -f1 /proc/uptime");
            String out = server.stdoutUntilExit(2);
            assertThat(out).contains("CapEff:\t00000000a80425fb", "\n50\n", "bound\n", "ro\n", "scratch\n");
            assertThat(Long.parseLong(out.lines().reduce((a, b) -> b).orElseThrow())).isGreaterThan(86400);

            server.request('S', 3, "env=1", "caps=all", "uid=1000", "gid=1000", "umask=027", "arg=sh", "arg=-c", "arg=id; umask");
            assertThat(server.stdoutUntilExit(3)).startsWith("uid=1000 gid=1000").endsWith("0027\n");

            server.request('S', 4, "env=1", "caps=all", "arg=grep", "arg=CapEff", "arg=/proc/self/status");
            assertThat(server.stdoutUntilExit(4)).doesNotContain("a80425fb");

            Frame bad = server.request('C', 5, "rootfs=" + rootfs, "bind=" + tmp.resolve("missing") + "\t/data\tro");
            assertThat(bad.type).isEqualTo('E');
            assertThat(bad.record()).containsEntry("stage", "bind").containsEntry("errname", "ENOENT")
                    .containsEntry("path", tmp.resolve("missing").toString());
            assertThat(bad.record().get("hint")).contains("/data");
        }
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
            initPid = new BufferedReader(new InputStreamReader(env.getErrorStream(), UTF_8)).readLine().substring("init-pid=".length());
        }

        @org.junit.jupiter.api.AfterEach
        void stopEnvironment() throws Exception {
            env.destroyForcibly().waitFor();
        }

        @Test
        @DisplayName("--inherit-env: a ProcessBuilder's environment reaches the command unchanged")
        void inheritEnv() throws Exception {
            ProcessBuilder builder = new ProcessBuilder(HELPER.toString(), "enter", "--pid", initPid, "--inherit-env", "--", "env");
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
            Result result = helper("enter", "--pid", initPid, "--uid", "1000", "--gid", "1000", "--", "sh", "-c", "id -u; exit 7");

            assertThat(result.code).isEqualTo(7);
            assertThat(result.stdout).isEqualTo("1000\n");
        }

        @Test
        @DisplayName("SIGTERM to enter is forwarded: the command dies of it and enter exits 143; 125 on setup failure")
        void forwardsSigterm() throws Exception {
            Process enter = start("enter", "--pid", initPid, "--", "sleep", "1001");
            await().atMost(Duration.ofSeconds(5)).until(() -> !hostProcessesRunning("sleep", "1001").isEmpty());

            enter.destroy(); // SIGTERM

            assertThat(enter.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(enter.exitValue()).isEqualTo(128 + 15);
            assertThat(hostProcessesRunning("sleep", "1001")).isEmpty();
            assertThat(helper("enter", "--pid", "999999999", "--", "true").code).isEqualTo(125);
        }

        @Test
        @DisplayName("SIGKILL of enter kills the command too (parent-death signal)")
        void sigkillOfEnterKillsTheCommand() throws Exception {
            Process enter = start("enter", "--pid", initPid, "--uid", "1000", "--", "sleep", "1002");
            await().atMost(Duration.ofSeconds(5)).until(() -> !hostProcessesRunning("sleep", "1002").isEmpty());

            enter.destroyForcibly().waitFor();

            await().atMost(Duration.ofSeconds(2)).untilAsserted(() -> assertThat(hostProcessesRunning("sleep", "1002")).isEmpty());
        }
    }

    // ---- probe ----

    @Nested
    @DisplayName("probe")
    class Probe {

        private final List<String> mustPass = List.of("userns", "uid-map", "mount-ns", "tmpfs-userns", "proc", "overlay",
                "overlay-userxattr", "pivot-root", "net", "uts", "ipc", "cgroup-ns", "time-ns");

        @Test
        @DisplayName("as root: every namespace step passes here, the cgroup controllers are found, sysctls are reported")
        void asRoot() throws Exception {
            Map<String, Map<String, Object>> steps = probe(List.of(HELPER.toString(), "probe", "--json"));

            assertThat(steps.keySet()).containsAll(mustPass).contains("setgroups", "cgroup-memory", "cgroup-pids", "cgroup-cpu",
                    "sysctl user.max_user_namespaces", "sysctl kernel.apparmor_restrict_unprivileged_userns",
                    "sysctl kernel.unprivileged_userns_clone");
            mustPass.forEach(step -> assertThat(steps.get(step)).as(step).containsEntry("ok", true));
            assertThat(steps.get("setgroups")).containsEntry("ok", true);
            assertThat(steps.get("cgroup-memory")).containsEntry("ok", true);
            assertThat((String) steps.get("cgroup-memory").get("detail")).startsWith("v");
            assertThat(steps.get("sysctl kernel.apparmor_restrict_unprivileged_userns")).containsEntry("detail", "absent");
        }

        @Test
        @DisplayName("as uid 65534: the rootless steps pass; setgroups and the v1 cgroups are reported as not usable")
        void asNobody() throws Exception {
            Path helper = rootlessHelperCopy();

            Map<String, Map<String, Object>> steps = probe(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    helper.toString(), "probe", "--json"));

            mustPass.forEach(step -> assertThat(steps.get(step)).as(step).containsEntry("ok", true));
            assertThat(steps.get("setgroups")).containsEntry("ok", false).containsEntry("errno", "EPERM");
            assertThat(steps.get("cgroup-memory")).containsEntry("ok", false);
            assertThat((String) steps.get("cgroup-memory").get("hint")).contains("Delegate");
        }

        @Test
        @DisplayName("with user.max_user_namespaces=0: the userns step fails with ENOSPC and names the sysctl")
        void simulatedRestriction() throws Exception {
            Map<String, Map<String, Object>> steps = probe(List.of("unshare", "--user", "--map-root-user", "sh", "-c",
                    "echo 0 > /proc/sys/user/max_user_namespaces && exec " + HELPER + " probe --json"));

            assertThat(steps.get("userns")).containsEntry("ok", false).containsEntry("errno", "ENOSPC");
            assertThat((String) steps.get("userns").get("hint")).contains("user.max_user_namespaces");
            assertThat(steps.get("sysctl user.max_user_namespaces")).containsEntry("ok", false).containsEntry("detail", "0");
        }

        @Test
        @DisplayName("without --json: one `step ok|fail ...` line per step")
        void textOutput() throws Exception {
            Result result = helper("probe");

            assertThat(result.code).isZero();
            assertThat(result.stdout.lines()).contains("userns ok", "mount-ns ok").allMatch(line -> line.matches("^[^ ].* (ok|fail)( .*)?$"));
        }

        private Map<String, Map<String, Object>> probe(List<String> command) throws Exception {
            Result result = exec(command);
            assertThat(result.code).as(result.stderr).isZero();
            Map<String, Map<String, Object>> steps = new LinkedHashMap<>();
            for (String line : result.stdout.lines().toList()) {
                Map<String, Object> step = parseFlatJson(line);
                assertThat(step).containsKeys("step", "ok", "errno", "detail", "hint");
                steps.put((String) step.get("step"), step);
            }
            return steps;
        }
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

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private Result runWith(List<String> options, String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of("run", "--rootfs", rootfs.toString()));
        args.addAll(options);
        args.add("--");
        args.addAll(Arrays.asList(command));
        return helper(args.toArray(String[]::new));
    }

    /** A copy of the helper that uid 65534 can execute. */
    private Path rootlessHelperCopy() throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("helper-bin"));
        Path helper = bin.resolve("isolated-helper");
        if (!Files.exists(helper)) {
            Files.copy(HELPER, helper, StandardCopyOption.COPY_ATTRIBUTES);
        }
        Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwxr-xr-x"));
        return helper;
    }

    private static double uptime(String procUptime) {
        return Double.parseDouble(procUptime.strip().split(" ")[0]);
    }

    /** x86_64 cBPF: mkdir (83) and mkdirat (258) fail with EPERM, everything else is allowed. */
    private static byte[] denyMkdirFilter() {
        int[][] program = {
                {0x20, 0, 0, 4}, // ld [arch]
                {0x15, 0, 3, 0xc000003e}, // jeq AUDIT_ARCH_X86_64, else allow
                {0x20, 0, 0, 0}, // ld [nr]
                {0x15, 2, 0, 83}, // jeq mkdir -> deny
                {0x15, 1, 0, 258}, // jeq mkdirat -> deny
                {0x06, 0, 0, 0x7fff0000}, // ret ALLOW
                {0x06, 0, 0, 0x00050001}, // ret ERRNO(EPERM)
        };
        java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(8 * program.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int[] insn : program) {
            buffer.putShort((short) insn[0]).put((byte) insn[1]).put((byte) insn[2]).putInt(insn[3]);
        }
        return buffer.array();
    }

    /** One flat JSON object of strings and booleans, as `probe --json` prints. */
    private static Map<String, Object> parseFlatJson(String line) {
        Map<String, Object> fields = new LinkedHashMap<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"([^\"]+)\":(true|false|\"((?:[^\"\\\\]|\\\\.)*)\")")
                .matcher(line);
        while (m.find()) {
            fields.put(m.group(1), m.group(3) != null ? m.group(3).replaceAll("\\\\(.)", "$1") : Boolean.valueOf(m.group(2)));
        }
        return fields;
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

        /** Reads frames (dropping others) until the given one. */
        Frame readUntil(char type, int id) throws IOException {
            for (Frame frame;;) {
                if ((frame = read()).type == type && frame.id == id) {
                    return frame;
                }
            }
        }

        /** The stdout of proc id until its EXITED; fails on a non-zero exit. */
        String stdoutUntilExit(int id) throws IOException {
            StringBuilder out = new StringBuilder();
            for (Frame frame;;) {
                frame = read();
                if (frame.type == 'O' && frame.id == id) {
                    out.append(new String(frame.payload, UTF_8));
                } else if (frame.type == 'E') {
                    throw new AssertionError("spawn failed: " + frame);
                } else if (frame.type == 'x' && frame.id == id) {
                    assertThat(frame.record()).as(out.toString()).containsEntry("code", "0");
                    return out.toString();
                }
            }
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
