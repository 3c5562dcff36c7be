package dev.isolated;

import static dev.isolated.Namespace.MOUNT;
import static dev.isolated.Namespace.PID;
import static dev.isolated.Namespace.USER;
import static dev.isolated.Namespace.UTS;
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

@DisplayName("rootless: a non-root user gets the same environments through a user namespace")
class RootlessTests {
    static final String NOBODY = "65534";

    @Test
    @DisplayName("tests run by uid 65534 get root inside, their own PID 1, hostname and writable rootfs")
    void asNobody(@TempDir Path dir) throws IOException, InterruptedException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        String classpath = copyClasspathReadableByAll(dir.resolve("cp"));
        Path home = Files.createDirectories(dir.resolve("home"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();

        ProcessBuilder pb = new ProcessBuilder("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                java, "-Duser.home=" + home, "-Djava.io.tmpdir=" + home, "-cp", classpath,
                FixtureRunner.class.getName(), RootlessTestCase.class.getName());
        pb.environment().put("XDG_CACHE_HOME", home.resolve(".cache").toString());
        pb.environment().put("HOME", home.toString());
        Process child = pb.redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> lines = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();

        assertThat(child.waitFor()).isZero();
        assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class RootlessTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar", namespaces = {PID, MOUNT, UTS}, hostname = "rootless")
        void userNamespaceIsAdded(IsolatedEnvironment env) {
            assertThat(env.namespaces()).contains(USER);
            assertThat(env.exec("id", "-u")).stdout().isEqualTo("0\n");
            assertThat(env).pid1().hasCommand("isolated-init");
            assertThat(env).hostname().isEqualTo("rootless");
            assertThat(env.exec("sh", "-c", "echo x > /etc/written && mount -t tmpfs t /tmp && cat /etc/written"))
                    .succeeded().stdout().isEqualTo("x\n");
            assertThat(env.readString("/etc/written")).isEqualTo("x\n");
        }

        @Test
        @Isolated(rootfs = "hello.tar", namespaces = {PID, MOUNT})
        void fromScratch(IsolatedEnvironment env) {
            assertThat(env.exec("/hello")).succeeded().stdout().isEqualTo("Hello, World\n");
        }
    }

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
