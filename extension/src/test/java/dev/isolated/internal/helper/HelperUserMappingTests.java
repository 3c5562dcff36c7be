package dev.isolated.internal.helper;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --user-map root|self|subids} (CREATE's {@code user-map=}, PROTOCOL.md): who the caller is in the
 * environment's user namespace. Run as uid 65534 through setpriv, as a rootless user would, and as root.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper: user-map")
class HelperUserMappingTests {

    private static final List<String> APPLETS = List.of("sh", "id", "cat", "touch", "chown", "ls", "sleep", "echo");

    private static final int NOBODY = 65534;

    private static final int SUB_START = 231072;

    @TempDir
    Path tmp;

    Path rootfs;

    Path helper;

    /** A busybox rootfs owned by 65534 (as if it had unpacked it), and a helper copy it may run. */
    @BeforeEach
    void buildBusyboxRootfs() throws IOException {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), APPLETS);
        try (Stream<Path> all = Files.walk(rootfs)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setAttribute(p, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:gid", NOBODY, LinkOption.NOFOLLOW_LINKS);
            }
        }
        helper = HelperPaths.rootlessCopy(tmp);
    }

    @Test
    @DisplayName("as uid 65534: root (the default) makes it 0 inside, self keeps 65534 with setgroups denied")
    void rootAndSelf() throws Exception {
        Result root = asNobody("root", "id -u");
        Result self = asNobody("self", "id -u; id -g; cat /proc/self/setgroups");

        assertThat(root.code).as(root.stderr).isZero();
        assertThat(root.stdout).isEqualTo("0\n");
        assertThat(self.code).as(self.stderr).isZero();
        assertThat(self.stdout).isEqualTo("65534\n65534\ndeny\n");
    }

    @Test
    @DisplayName(
            "as uid 65534: subids without a range in /etc/subuid fails (125, stage uid-map) naming the file and the line to add")
    void subidsWithoutRanges() throws Exception {
        Result result = TemporarySubIds.during(
                TemporarySubIds.without("nobody", Integer.toString(NOBODY)), () -> asNobody("subids", "true"));

        assertThat(result.code).isEqualTo(125);
        assertThat(result.stderr)
                .contains("isolated-helper: uid-map: open /etc/subuid", "hint:", ":100000:65536", "/etc/subgid");
    }

    @Test
    @DisplayName(
            "as uid 65534: subids maps 0 and the /etc/subuid range, chown 1000 works, and the host sees range start + 999")
    void subidsWithRanges() throws Exception {
        assertThat(exec(List.of("sh", "-c", "command -v newuidmap && command -v newgidmap")).code)
                .as("newuidmap/newgidmap are missing: apt-get install uidmap (.ci/install-deps does)")
                .isZero();
        record Started(Process run, String initPid, String inside) {}
        // the ranges go back once the command printed, i.e. after newuidmap/newgidmap read them
        Started started = TemporarySubIds.during(
                TemporarySubIds.replacing(
                        List.of("nobody", Integer.toString(NOBODY)), NOBODY + ":" + SUB_START + ":65536"),
                () -> {
                    Process p = new ProcessBuilder(
                                    concat(
                                            setpriv(),
                                            List.of(
                                                    helper.toString(),
                                                    "run",
                                                    "--print-pid",
                                                    "--rootfs",
                                                    rootfs.toString(),
                                                    "--user-map",
                                                    "subids",
                                                    "--",
                                                    "sh",
                                                    "-c",
                                                    "touch /tmp/f /etc/f && chown 1000:1000 /tmp/f /etc/f && ls -ln /tmp/f && exec sleep 60")))
                            .start();
                    return new Started(
                            p,
                            new BufferedReader(new InputStreamReader(p.getErrorStream(), UTF_8)).readLine(),
                            new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8)).readLine());
                });
        Process run = started.run();
        String initPid = started.initPid();
        String inside = started.inside();
        try {
            assertThat(initPid).startsWith("init-pid=");
            assertThat(inside).as("ls -ln /tmp/f inside").matches("-\\S+\\s+1\\s+1000\\s+1000\\s.*/tmp/f");
            Path file = fileInWritableLayer(initPid.substring("init-pid=".length()), "etc/f");
            assertThat(Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS))
                    .isEqualTo(SUB_START + 999);
            assertThat(Files.getAttribute(file, "unix:gid", LinkOption.NOFOLLOW_LINKS))
                    .isEqualTo(SUB_START + 999);
        } finally {
            run.destroyForcibly().waitFor();
        }
    }

    @Test
    @DisplayName(
            "as root: root, self and subids all map 0..65535 to a 64K-aligned range of the env's own from 2^30 (chown 1000 works), never host 0")
    void everyMappingAsRootIsARange() throws Exception {
        for (String mapping : List.of("root", "self", "subids")) {
            Result result = exec(
                    List.of(
                            HelperPaths.helper().toString(),
                            "run",
                            "--rootfs",
                            rootfs.toString(),
                            "--ns",
                            "pid,mount",
                            "--user-map",
                            mapping,
                            "--",
                            "sh",
                            "-c",
                            "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/f && chown 1000:1000 /tmp/f && ls -ln /tmp/f"));

            assertThat(result.code).as(mapping + ": " + result.stderr).isZero();
            List<String> lines = result.stdout
                    .lines()
                    .map(l -> l.trim().replaceAll("\\s+", " "))
                    .toList();
            String[] uidMap = lines.get(0).split(" ");
            long base = Long.parseLong(uidMap[1]);
            assertThat(uidMap[0]).as(mapping).isEqualTo("0");
            assertThat(uidMap[2]).as(mapping).isEqualTo("65536");
            assertThat(base).as(mapping).isBetween(1L << 30, (1L << 31) - 65536).matches(b -> b % 65536 == 0);
            assertThat(lines.get(1)).as(mapping + ": gid map = uid map").isEqualTo(lines.get(0));
            assertThat(lines.get(2)).as(mapping).isEqualTo("0");
            assertThat(lines.get(3)).as(mapping).matches("-\\S+ 1 1000 1000 .*/tmp/f");
        }
    }

    // ---- helpers ----

    record Result(int code, String stdout, String stderr) {}

    private Result asNobody(String userMap, String script) throws Exception {
        return exec(concat(
                setpriv(),
                List.of(
                        helper.toString(),
                        "run",
                        "--rootfs",
                        rootfs.toString(),
                        "--user-map",
                        userMap,
                        "--",
                        "sh",
                        "-c",
                        script)));
    }

    private static List<String> setpriv() {
        return List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups");
    }

    private static Result exec(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).start();
        p.getOutputStream().close();
        byte[] err = p.getErrorStream().readAllBytes();
        String out = new String(p.getInputStream().readAllBytes(), UTF_8);
        return new Result(p.waitFor(), out, new String(err, UTF_8));
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The env's writable layer is one of its init's fds (PROTOCOL.md, "The writable layer"). */
    private static Path fileInWritableLayer(String initPid, String relative) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", initPid, "fd"))) {
            return fds.map(fd -> fd.resolve(relative))
                    .filter(p -> Files.exists(p, LinkOption.NOFOLLOW_LINKS))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(relative + " is in no fd of the init " + initPid));
        }
    }
}
