package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.helper.TemporarySubIds;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Runs a fixture test class in a child JVM as uid 65534 (with {@code setpriv}), the way a non-root user runs
 * the tests: with a copy of this JVM's class path that uid 65534 can read and a home and cache of its own.
 */
public final class NobodyJvm {
    public static final String NOBODY = "65534";

    private NobodyJvm() {}

    /**
     * @param dir an empty scratch directory
     * @param fixture the test class to run through {@link FixtureRunner}
     * @return the child's lines, one per finished test: {@code <status>\t<exception>: <message>}
     */
    static List<String> runFixture(Path dir, Class<?> fixture) throws IOException, InterruptedException {
        return runFixture(dir, fixture, List.of());
    }

    /**
     * Runs a fixture as uid 65534 with a subordinate id range of its own (1300000000, 65536 ids) for {@code SUBIDS},
     * in {@code run} below {@code tempDir}, and checks that its one test succeeded.
     */
    static void runSubIdsFixture(Path tempDir, Class<?> fixture) throws Exception {
        Path run = runDirectory(tempDir, "run");
        List<String> lines = TemporarySubIds.during(
                TemporarySubIds.replacing(List.of("nobody", NOBODY), NOBODY + ":1300000000:65536"),
                () -> runFixture(run, fixture));

        assertThat(lines).singleElement().satisfies(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    /**
     * @param dir an empty scratch directory
     * @param fixture the test class to run through {@link FixtureRunner}
     * @param launcher a command prefix that starts the child, e.g. {@link SeccompExec#restrictedUserNamespace}
     * @param configuration {@code key=value} configuration parameters of the run
     * @return the child's lines, one per finished test: {@code <status>\t<exception>: <message>}
     */
    static List<String> runFixture(Path dir, Class<?> fixture, List<String> launcher, String... configuration)
            throws IOException, InterruptedException {
        Process child = startFixture(dir, fixture, launcher, List.of(), configuration);
        List<String> lines = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                .lines()
                .toList();
        assertThat(child.waitFor()).as("the child JVM's exit code").isZero();
        return lines;
    }

    /**
     * Starts {@link #runFixture(Path, Class, List, String...)}'s child JVM (its own pid: {@code setpriv} execs it)
     * and returns it running, its stdout for the caller to read.
     *
     * @param jvmOptions more options of the child JVM, e.g. {@code -Dkey=value}
     */
    static Process startFixture(
            Path dir, Class<?> fixture, List<String> launcher, List<String> jvmOptions, String... configuration)
            throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        String classpath = copyClasspathReadableByAll(dir.resolve("cp"));
        Path home = Files.createDirectories(dir.resolve("home"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();

        List<String> command = new ArrayList<>(launcher);
        command.addAll(List.of(
                "setpriv",
                "--reuid=" + NOBODY,
                "--regid=" + NOBODY,
                "--clear-groups",
                java,
                "-Duser.home=" + home,
                "-Djava.io.tmpdir=" + home));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classpath, FixtureRunner.class.getName(), fixture.getName()));
        command.addAll(List.of(configuration));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("XDG_CACHE_HOME", home.resolve(".cache").toString());
        pb.environment().put("HOME", home.toString());
        return pb.redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** A directory NAME in TEMP_DIR for one child JVM run, both traversable by uid 65534. */
    public static Path runDirectory(Path tempDir, String name) throws IOException {
        Files.setPosixFilePermissions(tempDir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return Files.createDirectories(tempDir.resolve(name));
    }

    /** Copies this JVM's class path under {@code target}, readable by all; @return the copy as a class path */
    public static String copyClasspathReadableByAll(Path target) throws IOException {
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path source = Paths.get(entry);
            if (!Files.exists(source)) {
                continue;
            }
            Path copy = target.resolve(Integer.toString(i++)).resolve(source.getFileName());
            copyTree(source, copy);
            entries.add(copy.toString());
        }
        try (Stream<Path> all = Files.walk(target)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setPosixFilePermissions(
                        p,
                        PosixFilePermissions.fromString(
                                Files.isDirectory(p) || Files.isExecutable(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static void copyTree(Path source, Path target) throws IOException {
        try (Stream<Path> all = Files.walk(source)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path t = target.resolve(source.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.createDirectories(t.getParent());
                    Files.copy(p, t, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }
}
