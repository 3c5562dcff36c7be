package dev.isolated.internal.env;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerDirectoriesTests {

    @Test
    @DisplayName(
            "a second copy of Isolated in this JVM (another class loader) leaves the first's directory locked, so another JVM keeps it")
    void secondCopyKeepsTheFirstsDirectory(@TempDir Path dir) throws Exception {
        Path root = dir.resolve("layers");
        Path first = LayerDirectories.in(root, "test").newFrozenPath().getParent();
        Path second;
        try (URLClassLoader copy = copyOfTheLibrary()) {
            Class<?> directories = Class.forName(LayerDirectories.class.getName(), true, copy);
            Method in = directories.getMethod("in", Path.class, String.class);
            Object created = in.invoke(null, root, "test");
            second = ((Path) directories.getMethod("newFrozenPath").invoke(created)).getParent();
            assertThat(second).isNotEqualTo(first);

            Process other = new ProcessBuilder(
                            Path.of(System.getProperty("java.home"), "bin", "java")
                                    .toString(),
                            "-cp",
                            System.getProperty("java.class.path"),
                            SweepThenExit.class.getName(),
                            root.toString())
                    .redirectErrorStream(true)
                    .start();
            String output = new String(other.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(other.waitFor(60, TimeUnit.SECONDS)).as(output).isTrue();
            assertThat(other.exitValue()).as(output).isZero();
        }
        assertThat(first)
                .as("the first copy's directory, after another JVM swept the root")
                .isDirectory();
        assertThat(second)
                .as("the second copy's directory, after another JVM swept the root")
                .isDirectory();
    }

    /** Another JVM's first use of a root: it sweeps the directories of dead JVMs, then exits (removing its own). */
    public static final class SweepThenExit {
        public static void main(String[] args) {
            LayerDirectories.in(Path.of(args[0]), "test");
        }
    }

    private static URLClassLoader copyOfTheLibrary() throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            urls.add(Path.of(entry).toUri().toURL());
        }
        return new URLClassLoader("library-copy", urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    }
}
