package dev.isolated.security;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.NobodyJvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The security suite as an ordinary user: every attack class of this package, run in a child JVM as uid 65534
 * (with {@code setpriv}, a home and image cache of its own), must pass there too, none skipped or aborted. The
 * attacks that only make sense as root check their rootless equivalent there (see each class).
 */
@DisplayName("security: the whole suite again as uid 65534")
class SecuritySuiteAsNobodyTests {

    @Test
    @DisplayName("every attack also fails as uid 65534: at least 60 run, all successful, none skipped or aborted")
    void asNobody(@TempDir Path dir) throws Exception {
        assertThat(Attacks.root())
                .as("this test runs the suite as uid 65534, so it runs as root, as CI does")
                .isTrue();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        String classpath = NobodyJvm.copyClasspathReadableByAll(dir.resolve("cp"));
        Path home = Files.createDirectories(dir.resolve("home"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(
                "setpriv",
                "--reuid=" + NobodyJvm.NOBODY,
                "--regid=" + NobodyJvm.NOBODY,
                "--clear-groups",
                java,
                "-Duser.home=" + home,
                "-Djava.io.tmpdir=" + home,
                "-cp",
                classpath,
                SecuritySuiteRunner.class.getName());
        pb.environment().put("XDG_CACHE_HOME", home.resolve(".cache").toString());
        pb.environment().put("HOME", home.toString());
        Process child = pb.redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> lines = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                .lines()
                .toList();
        assertThat(child.waitFor()).as("the child JVM's exit code").isZero();

        List<String> results = lines.stream().filter(l -> l.contains("\t")).toList();
        assertThat(results).as("every attack succeeded as uid 65534").allMatch(l -> l.startsWith("SUCCESSFUL\t"));
        assertThat(results).as("attacks run as uid 65534").hasSizeGreaterThanOrEqualTo(60);
        assertThat(lines).as("none skipped").contains("started=" + results.size() + " skipped=0");
        assertThat(lines).as("the seven attack classes").contains("classes=7");
    }
}
