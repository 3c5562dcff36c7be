package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.HelperPaths.HELPER;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the tests of the helper's command line share: a busybox rootfs in a 0755 temp dir (so that
 * uid 65534 can read it too), and running the helper as a user would, from a shell.
 */
abstract class AbstractHelperCliTests {

    private static final List<String> APPLETS = List.of(
            "sh",
            "ps",
            "ls",
            "hostname",
            "mount",
            "cat",
            "ip",
            "sleep",
            "id",
            "echo",
            "true",
            "kill",
            "mkdir",
            "tail",
            "touch",
            "grep",
            "env",
            "stat",
            "cut");

    @TempDir
    Path tmp;

    Path rootfs;

    @BeforeEach
    void buildBusyboxRootfs() throws IOException {
        HelperPaths.helper();
        // 0755 all the way, so that the unprivileged (uid 65534) test can read it too.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        rootfs = TestRootfs.busybox(tmp.resolve("rootfs"), APPLETS);
        Files.writeString(rootfs.resolve("etc/rootfs-marker"), "from the image\n");
    }

    /**
     * How a command ended.
     *
     * @param code its exit code
     * @param stdout all it wrote to stdout
     * @param stderr all it wrote to stderr
     */
    record Result(int code, String stdout, String stderr) {}

    /** {@code isolated-helper run --rootfs ROOTFS -- command...} */
    Result run(String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of("run", "--rootfs", rootfs.toString(), "--"));
        args.addAll(Arrays.asList(command));
        return helper(args.toArray(String[]::new));
    }

    /** {@code isolated-helper run --rootfs ROOTFS options... -- command...} */
    Result runWith(List<String> options, String... command) throws Exception {
        List<String> args = new ArrayList<>(List.of("run", "--rootfs", rootfs.toString()));
        args.addAll(options);
        args.add("--");
        args.addAll(Arrays.asList(command));
        return helper(args.toArray(String[]::new));
    }

    /** {@code isolated-helper args...}, to its end */
    Result helper(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(HELPER.toString()));
        command.addAll(Arrays.asList(args));
        return exec(command);
    }

    /** Runs a command to its end (30 s at the most), without XDG_RUNTIME_DIR. */
    Result exec(List<String> command) throws Exception {
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().remove("XDG_RUNTIME_DIR");
        Process process = builder.start();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail("timed out: %s", command);
        }
        return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Starts {@code isolated-helper args...}, its output in pipes. */
    Process start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(HELPER.toString()));
        command.addAll(Arrays.asList(args));
        return new ProcessBuilder(command).start();
    }

    /** The helper's command line; WALK: with ISOLATED_HELPER_NO_OPENAT2=1, the walk that stands in for openat2. */
    static List<String> helperCommand(boolean walk) {
        String helper = HelperPaths.helper().toString();
        return walk ? List.of("env", "ISOLATED_HELPER_NO_OPENAT2=1", helper) : List.of(helper);
    }

    static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** `ps -o pid,comm` lines without the header, whitespace collapsed: "1 isolated-init". */
    static List<String> processLines(String psOutput) {
        return psOutput.lines()
                .map(String::strip)
                .filter(line -> line.matches("^\\d+ .*"))
                .map(line -> line.replaceAll("\\s+", " "))
                .toList();
    }

    /**
     * A {@code sleep} duration of this JVM's own ({@code n} from 0 to 9), so that the host-wide searches of
     * {@link #hostProcessesRunning} never find the sleeps of another test run on the machine at the same time.
     */
    static String seconds(int n) {
        return Long.toString(100_000_000L + ProcessHandle.current().pid() * 10 + n);
    }

    /** The host's /proc/PID directories of the processes whose argv is exactly {@code argv}. */
    static List<Path> hostProcessesRunning(String... argv) throws IOException {
        byte[] wanted = (String.join("\0", argv) + "\0").getBytes(UTF_8);
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            return entries.filter(p -> p.getFileName().toString().matches("\\d+"))
                    .filter(p -> {
                        try {
                            return Arrays.equals(Files.readAllBytes(p.resolve("cmdline")), wanted);
                        } catch (IOException gone) {
                            return false;
                        }
                    })
                    .toList();
        }
    }
}
