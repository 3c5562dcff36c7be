package dev.isolated;

import static dev.isolated.Namespace.MOUNT;
import static dev.isolated.Namespace.PID;
import static dev.isolated.Namespace.USER;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("userMapping: who the user running the tests is inside the user namespace")
class UserMappingTests {
    static final String NOBODY = "65534";

    @Test
    @DisplayName("SELF as root: root keeps uid 0 inside its user namespace")
    void selfAsRoot() {
        assertThat(IsolatedSettings.isRoot()).as("this test runs as root, as CI does").isTrue();
        try (IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs("busybox.tar").namespaces(USER, PID, MOUNT)
                .userMapping(UserMapping.SELF).start()) {
            assertThat(env.exec("id", "-u")).succeeded().stdout().isEqualTo("0\n");
        }
    }

    @Test
    @DisplayName("SELF run by uid 65534 (a child JVM): id -u prints 65534, through the annotation and the builder")
    void selfAsNobody(@TempDir Path dir) throws IOException, InterruptedException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        String classpath = copyClasspathReadableByAll(dir.resolve("cp"));
        Path home = Files.createDirectories(dir.resolve("home"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();

        ProcessBuilder pb = new ProcessBuilder("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                java, "-Duser.home=" + home, "-Djava.io.tmpdir=" + home, "-cp", classpath,
                FixtureRunner.class.getName(), SelfTestCase.class.getName());
        pb.environment().put("XDG_CACHE_HOME", home.resolve(".cache").toString());
        pb.environment().put("HOME", home.toString());
        Process child = pb.redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> lines = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();

        assertThat(child.waitFor()).isZero();
        assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class SelfTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar", namespaces = {PID, MOUNT}, userMapping = UserMapping.SELF)
        void annotation(IsolatedEnvironment env) {
            assertThat(env.exec("id", "-u")).succeeded().stdout().isEqualTo(NOBODY + "\n");
        }

        @Test
        void builder() {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs("busybox.tar").namespaces(PID, MOUNT)
                    .userMapping(UserMapping.SELF).start()) {
                assertThat(env.exec("sh", "-c", "id -u; touch /tmp/mine && stat -c %u /tmp/mine")).succeeded()
                        .stdout().isEqualTo(NOBODY + "\n" + NOBODY + "\n");
            }
        }
    }

    // The class path copied where uid 65534 can read it (as RootlessTests does).
    private static String copyClasspathReadableByAll(Path target) throws IOException {
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
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
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
