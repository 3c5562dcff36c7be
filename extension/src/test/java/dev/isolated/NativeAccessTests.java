package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Java 24+ (JEP 472): JNA's {@code System::load} makes the JDK warn unless the JVM was started with
 * {@code --enable-native-access=ALL-UNNAMED}. A child JVM of Java 24 or later (this one, or else the newest under
 * {@code /usr/lib/jvm}, or {@code -Disolated.test.newJdk=<java home>}) runs an {@code @Isolated} test with and
 * without the flag.
 */
@DisplayName("on Java 24 and later (native access)")
class NativeAccessTests {
    private static final String FLAG = "--enable-native-access=ALL-UNNAMED";
    private static final String JDK_WARNING = "A restricted method in java.lang.System has been called";

    @Test
    @DisplayName(
            "with --enable-native-access=ALL-UNNAMED an @Isolated test passes and the JVM prints no warning at all")
    void withTheFlag() throws IOException, InterruptedException {
        Run run = runFixture(List.of(FLAG));

        assertThat(run.stdout()).singleElement().asString().startsWith("SUCCESSFUL");
        assertThat(run.stderr()).doesNotContain(JDK_WARNING, "restricted method", "[isolated]");
    }

    @Test
    @DisplayName(
            "without it the test still passes and Isolated says once which flag to add and where the README explains it")
    void withoutTheFlag() throws IOException, InterruptedException {
        Run run = runFixture(List.of());

        assertThat(run.stdout()).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
        assertThat(run.stderr()).contains(JDK_WARNING);
        List<String> ours =
                run.stderr().lines().filter(l -> l.startsWith("[isolated]")).toList();
        assertThat(ours)
                .as("one line per JVM, for two tests")
                .singleElement()
                .asString()
                .contains(
                        "without " + FLAG + ". Add " + FLAG + " to the test JVM's arguments",
                        "Surefire's <argLine>",
                        "README section \"Java 24 and later: --enable-native-access\"");
    }

    @Test
    @DisplayName("with --illegal-native-access=allow (the user's explicit choice) Isolated says nothing")
    void allowedExplicitly() throws IOException, InterruptedException {
        Run run = runFixture(List.of("--illegal-native-access=allow"));

        assertThat(run.stdout()).singleElement().asString().startsWith("SUCCESSFUL");
        assertThat(run.stderr()).doesNotContain("[isolated]");
    }

    private record Run(List<String> stdout, String stderr) {}

    private static Run runFixture(List<String> jvmArguments) throws IOException, InterruptedException {
        Path javaHome = newJdk();
        List<String> command =
                new ArrayList<>(List.of(javaHome.resolve("bin/java").toString()));
        command.addAll(jvmArguments);
        // Two tests without the flag: Isolated's line must still appear once only.
        Class<?> fixture = jvmArguments.isEmpty() ? TwoEnvironments.class : OneEnvironment.class;
        command.addAll(List.of(
                "-cp", System.getProperty("java.class.path"), FixtureRunner.class.getName(), fixture.getName()));
        Process child = new ProcessBuilder(command).start();
        CompletableFuture<String> stderr = CompletableFuture.supplyAsync(() -> read(child.getErrorStream()));
        List<String> stdout = read(child.getInputStream()).lines().toList();
        assertThat(child.waitFor())
                .as("the child JVM (%s) exited: %s", javaHome, stderr.join())
                .isZero();
        return new Run(stdout, stderr.join());
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A JDK of release 24 or later: this JVM's, {@code isolated.test.newJdk}, or the newest in /usr/lib/jvm. */
    static Path newJdk() throws IOException {
        Path current = Paths.get(System.getProperty("java.home"));
        if (Runtime.version().feature() >= 24) {
            return current;
        }
        String configured = System.getProperty("isolated.test.newJdk");
        if (configured != null) {
            return Paths.get(configured);
        }
        Path jvms = Paths.get("/usr/lib/jvm");
        Optional<Path> newest;
        try (Stream<Path> homes = Files.isDirectory(jvms) ? Files.list(jvms) : Stream.empty()) {
            newest = homes.filter(h -> release(h) >= 24).max((a, b) -> Integer.compare(release(a), release(b)));
        }
        return newest.orElseGet(
                () -> fail(
                        "This test needs a JDK 24 or later: none in /usr/lib/jvm (Temurin 25 is "
                                + "at /usr/lib/jvm/temurin-25-jdk-amd64 on the project's machines); set -Disolated.test.newJdk=<its home>"));
    }

    private static int release(Path javaHome) {
        try {
            Matcher m = Pattern.compile("JAVA_VERSION=\"(\\d+)").matcher(Files.readString(javaHome.resolve("release")));
            return m.find() && Files.isExecutable(javaHome.resolve("bin/java")) ? Integer.parseInt(m.group(1)) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    static class OneEnvironment {
        @org.junit.jupiter.api.Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT})
        void test(IsolatedEnvironment env) {
            assertThat(env.exec("true").exitCode()).isZero();
        }
    }

    static class TwoEnvironments extends OneEnvironment {
        @org.junit.jupiter.api.Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT})
        void another(IsolatedEnvironment env) {
            env.writeString("/tmp/x", "x"); // goes through JNA (openat2) in this JVM
            assertThat(env.readString("/tmp/x")).isEqualTo("x");
        }
    }
}
