package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.TestExecutionResult;

@DisplayName("isolated.keepOnFailure")
class KeepOnFailureTests {

    @Test
    @DisplayName("keeps a failed test's writable layer on disk and says where, deleted files marked")
    void keepsTheWritableLayer(@TempDir Path dir) throws Exception {
        var results = EngineRunner.run(
                FailingTestCase.class,
                Map.of("isolated.keepOnFailure", "true", "isolated.keepOnFailure.dir", dir.toString()));

        Throwable failure = results.testEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow())
                .findFirst()
                .orElseThrow();
        String report = failure.getSuppressed()[0].getMessage();
        Matcher kept = Pattern.compile("Writable layer kept at (\\S+)").matcher(report);
        assertThat(kept.find()).as(report).isTrue();
        Path layer = Path.of(kept.group(1));
        assertThat(layer).startsWith(dir);
        assertThat(layer.resolve("etc/result.log")).content().isEqualTo("half-done\n");
        assertThat(layer.resolve("etc/group.deleted")).exists();
        assertThat(layer.resolve("bin")).doesNotExist();
    }

    @Test
    @DisplayName(
            "without isolated.keepOnFailure.dir keeps the layer in target/isolated-failures of the working directory")
    void defaultDirectory() throws Exception {
        Path layer = keptLayer(EngineRunner.run(FailingTestCase.class, Map.of("isolated.keepOnFailure", "true")));
        try {
            assertThat(layer).startsWith(Path.of("target/isolated-failures").toAbsolutePath());
            assertThat(layer.resolve("etc/result.log")).content().isEqualTo("half-done\n");
        } finally {
            try (var all = Files.walk(layer)) { // does not follow symlinks
                for (Path p : all.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    @Test
    @DisplayName("without isolated.keepOnFailure.dir and without a target directory keeps the layer in "
            + "isolated-failures of java.io.tmpdir, made 0700, and the report says where")
    void temporaryDirectoryFallback(@TempDir Path dir) throws Exception {
        Path work = Files.createDirectory(dir.resolve("work")); // the child's working directory: no target in it
        Path tmp = Files.createDirectory(dir.resolve("tmp"));

        String out = reportsOfChildJvm(work, tmp);

        Matcher kept = Pattern.compile(
                        "^Writable layer kept at (\\S+) \\(deleted files appear as <name>\\.deleted, what "
                                + "was not copied as <name>\\.skipped saying why\\)$",
                        Pattern.MULTILINE)
                .matcher(out);
        assertThat(kept.find()).as(out).isTrue();
        Path layer = Path.of(kept.group(1));
        assertThat(layer.getParent()).isEqualTo(tmp.resolve("isolated-failures"));
        assertThat(layer.getFileName().toString()).matches("FailingTestCase\\.fails-\\d+");
        assertThat(layer.resolve("etc/result.log")).content().isEqualTo("half-done\n");
        assertThat(layer.resolve("etc/group.deleted")).exists();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(layer.getParent())))
                .as("others cannot read what the tests wrote")
                .isEqualTo("rwx------");
        try (var entries = Files.list(work)) {
            assertThat(entries).as("nothing in the working directory").isEmpty();
        }
    }

    @Test
    @DisplayName("never keeps a layer in an isolated-failures of java.io.tmpdir that another user made, and says so")
    void temporaryDirectoryOfAnotherUser(@TempDir Path dir) throws Exception {
        Path work = Files.createDirectory(dir.resolve("work"));
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        Path theirs = Files.createDirectory(tmp.resolve("isolated-failures"));
        Files.setPosixFilePermissions(theirs, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setAttribute(theirs, "unix:uid", 65534);

        String out = reportsOfChildJvm(work, tmp);

        Matcher refused = Pattern.compile(
                        "^Could not keep the writable layer at " + Pattern.quote(theirs.toString())
                                + "/FailingTestCase\\.fails-\\d+: (.*)$",
                        Pattern.MULTILINE)
                .matcher(out);
        assertThat(refused.find()).as(out).isTrue();
        assertThat(refused.group(1))
                .isEqualTo("java.io.IOException: " + theirs + " is owned by uid 65534, not uid 0: another user could "
                        + "read or change the layers kept there; set isolated.keepOnFailure.dir to a directory of "
                        + "yours");
        try (var entries = Files.list(theirs)) {
            assertThat(entries).as("nothing kept in their directory").isEmpty();
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(theirs)))
                .isEqualTo("rwxrwxrwx");
    }

    /**
     * Runs {@link FailingTestCase} with {@code isolated.keepOnFailure=true} in a child JVM whose working directory
     * is {@code work} and whose {@code java.io.tmpdir} is {@code tmp}; @return the reports of its failure
     */
    private static String reportsOfChildJvm(Path work, Path tmp) throws Exception {
        String classpath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(entry -> Path.of(entry).toAbsolutePath().toString())
                .collect(Collectors.joining(File.pathSeparator));
        Process child = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Djava.io.tmpdir=" + tmp,
                        "-cp",
                        classpath,
                        KeptLayerReports.class.getName(),
                        FailingTestCase.class.getName(),
                        "isolated.keepOnFailure=true")
                .directory(work.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor()).as("the child JVM's exit code").isZero();
        return out;
    }

    @Test
    @DisplayName("keeps nothing when the test passes or the option is off")
    void keepsNothingOtherwise(@TempDir Path dir) throws Exception {
        EngineRunner.run(FailingTestCase.class, Map.of("isolated.keepOnFailure.dir", dir.toString()));

        try (var entries = Files.list(dir)) {
            assertThat(entries).isEmpty();
        }
    }

    @Test
    @DisplayName("keeps nothing, and reports nothing, for a test aborted by an assumption: it did not fail")
    void keepsNothingForAnAbortedTest(@TempDir Path dir) throws Exception {
        var results = EngineRunner.run(
                AbortedTestCase.class,
                Map.of("isolated.keepOnFailure", "true", "isolated.keepOnFailure.dir", dir.toString()));

        results.testEvents().assertStatistics(s -> s.aborted(1).failed(0));
        assertThat(results.testEvents().aborted().stream())
                .singleElement()
                .satisfies(e -> assertThat(e.getRequiredPayload(TestExecutionResult.class)
                                .getThrowable()
                                .orElseThrow()
                                .getSuppressed())
                        .isEmpty());
        try (var entries = Files.list(dir)) {
            assertThat(entries).isEmpty();
        }
    }

    @Test
    @DisplayName(
            "keeps symlinks as symlinks (never their host targets), and FIFOs and files over 64 MiB as <name>.skipped")
    void keepsNoHostFile(@TempDir Path dir) throws Exception {
        Path canary =
                Files.writeString(Files.createDirectory(dir.resolve("host")).resolve("canary"), "host canary\n");
        PlantingTestCase.hostDir = canary.getParent();
        Path layer = keptLayer(EngineRunner.run(
                PlantingTestCase.class,
                Map.of(
                        "isolated.keepOnFailure",
                        "true",
                        "isolated.keepOnFailure.dir",
                        dir.resolve("kept").toString())));

        assertThat(Files.readSymbolicLink(layer.resolve("etc/canary-link"))).isEqualTo(canary);
        assertThat(Files.readSymbolicLink(layer.resolve("etc/host-dir"))).isEqualTo(canary.getParent());
        assertThat(Files.readSymbolicLink(layer.resolve("etc/shadow-link"))).isEqualTo(Path.of("/etc/shadow"));
        assertThat(layer.resolve("etc/pipe")).doesNotExist();
        assertThat(layer.resolve("etc/pipe.skipped")).content().isEqualTo("a FIFO, not opened\n");
        assertThat(layer.resolve("etc/big")).doesNotExist();
        assertThat(layer.resolve("etc/big.skipped")).content().isEqualTo("larger than 64 MiB (68157440 bytes)\n");
        assertThat(layer.resolve("etc/small")).content().isEqualTo("kept\n");
        assertNoCanaryUnder(layer);
        assertThat(canary).content().isEqualTo("host canary\n");
    }

    @Test
    @DisplayName(
            "a layer whose directories are swapped for symlinks to the host while it is kept never yields host files")
    void swappedDirectoriesLeadNowhere(@TempDir Path dir) throws Exception {
        Path canary =
                Files.writeString(Files.createDirectory(dir.resolve("host")).resolve("canary"), "host canary\n");
        SwappingTestCase.hostDir = canary.getParent();
        for (int run = 0; run < 3; run++) {
            Path layer = keptLayer(EngineRunner.run(
                    SwappingTestCase.class,
                    Map.of(
                            "isolated.keepOnFailure",
                            "true",
                            "isolated.keepOnFailure.dir",
                            dir.resolve("kept").toString())));
            assertThat(layer.resolve("r")).isDirectory();
            assertNoCanaryUnder(layer);
        }
        assertThat(canary).content().isEqualTo("host canary\n");
    }

    private static Path keptLayer(org.junit.platform.testkit.engine.EngineExecutionResults results) {
        Throwable failure = results.testEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow())
                .findFirst()
                .orElseThrow();
        String report = failure.getSuppressed()[0].getMessage();
        Matcher kept = Pattern.compile("Writable layer kept at (\\S+)").matcher(report);
        assertThat(kept.find()).as(report).isTrue();
        return Path.of(kept.group(1));
    }

    private static void assertNoCanaryUnder(Path layer) throws Exception {
        try (var all = Files.walk(layer)) { // does not follow symlinks
            assertThat(all.filter(p -> p.getFileName().toString().equals("canary")))
                    .isEmpty();
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class PlantingTestCase {
        static volatile Path hostDir;

        @Test
        void fails(IsolatedEnvironment env) {
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "ln -s " + hostDir.resolve("canary") + " /etc/canary-link && ln -s "
                                    + hostDir
                                    + " /etc/host-dir && ln -s /etc/shadow /etc/shadow-link && mkfifo /etc/pipe"
                                    + " && truncate -s 65M /etc/big && echo kept > /etc/small"))
                    .succeeded();
            assertThat(env.exec("false")).succeeded();
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class SwappingTestCase {
        static volatile Path hostDir;

        @Test
        void fails(IsolatedEnvironment env) {
            // 2 loops, each swapping 25 directories back and forth with a symlink to the host's directory of
            // the canary, while the layer is copied
            assertThat(env.exec(
                            "sh",
                            "-c",
                            "for l in 1 2; do for i in $(seq 25); do mkdir -p /r/d$l-$i/sub; "
                                    + "echo in > /r/d$l-$i/sub/f; done; (while :; do for i in $(seq 25); do mv /r/d$l-$i /r/x$l-$i; "
                                    + "ln -s " + hostDir
                                    + " /r/d$l-$i; rm /r/d$l-$i; mv /r/x$l-$i /r/d$l-$i; done; done) "
                                    + "</dev/null >/dev/null 2>&1 & done; sleep 0.2"))
                    .succeeded();
            assertThat(env.exec("false")).succeeded();
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class AbortedTestCase {
        @Test
        void aborted(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "echo half-done > /etc/result.log")).succeeded();
            Assumptions.assumeTrue(false, "fixture: the assumption a user's test might make, failed on purpose");
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class FailingTestCase {
        @Test
        void fails(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "echo half-done > /etc/result.log && rm /etc/group"))
                    .succeeded();
            assertThat(env.exec("false")).succeeded();
        }
    }
}
