package dev.isolated.internal.image;

import static dev.isolated.internal.image.TestTars.tar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootfsLocatorTests {

    private static final byte[] IMAGE = tar().file("hello", 0755, "hi").bytes();

    @TempDir
    Path dir;

    @Test
    @DisplayName("finds a classpath resource inside a jar and streams it (no file: URL needed)")
    void resourceInJar() throws IOException {
        Path jar = dir.resolve("images.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("images/mine.tar"));
            out.write(IMAGE);
            out.closeEntry();
        }

        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, null)) {
            ImageSource source = new RootfsLocator(loader, dir.resolve("elsewhere")).locate("images/mine.tar");

            assertThat(source).isInstanceOf(ImageSource.Archive.class);
            assertThat(source.description())
                    .contains("classpath resource 'images/mine.tar'")
                    .contains("jar:file:");
            assertThat(readAll((ImageSource.Archive) source)).isEqualTo(IMAGE);
        }
    }

    @Test
    @DisplayName("prefers the classpath resource over a file of the same name, and accepts a leading slash")
    void resourceFirst() throws IOException {
        Path classes = Files.createDirectories(dir.resolve("classes"));
        Files.write(classes.resolve("image.tar"), IMAGE);
        Files.write(dir.resolve("image.tar"), new byte[] {1, 2, 3});

        try (URLClassLoader loader =
                new URLClassLoader(new URL[] {classes.toUri().toURL()}, null)) {
            ImageSource source = new RootfsLocator(loader, dir).locate("/image.tar");

            assertThat(source.description()).startsWith("classpath resource 'image.tar'");
            assertThat(readAll((ImageSource.Archive) source)).isEqualTo(IMAGE);
        }
    }

    @Test
    @DisplayName("finds a path relative to the working directory")
    void relativePath() throws IOException {
        Files.createDirectories(dir.resolve("build/images"));
        Files.write(dir.resolve("build/images/mine.tar"), IMAGE);

        ImageSource source = new RootfsLocator(emptyLoader(), dir).locate("build/images/mine.tar");

        assertThat(source.description()).isEqualTo("file " + dir.resolve("build/images/mine.tar"));
        assertThat(readAll((ImageSource.Archive) source)).isEqualTo(IMAGE);
    }

    @Test
    @DisplayName("finds an absolute path")
    void absolutePath() throws IOException {
        Path tar = Files.write(dir.resolve("abs.tar"), IMAGE);

        ImageSource source = new RootfsLocator(emptyLoader(), Path.of("/nonexistent")).locate(tar.toString());

        assertThat(readAll((ImageSource.Archive) source)).isEqualTo(IMAGE);
    }

    @Test
    @DisplayName("takes a directory as an unpacked rootfs")
    void directory() throws IOException {
        Files.createDirectories(dir.resolve("rootfs/bin"));

        ImageSource source = new RootfsLocator(emptyLoader(), dir).locate("rootfs");

        assertThat(source).isEqualTo(new ImageSource.Directory(dir.resolve("rootfs")));
    }

    @Test
    @DisplayName("when nothing matches, lists the resource name and the absolute path tried, and the fix")
    void notFound() {
        RootfsLocator locator = new RootfsLocator(emptyLoader(), dir);

        assertThatThrownBy(() -> locator.locate("missing.tar"))
                .isInstanceOf(ImageNotFoundException.class)
                .hasMessageStartingWith("Image 'missing.tar' not found. Tried:")
                .hasMessageContaining("classpath resource 'missing.tar'")
                .hasMessageContaining("path " + dir.resolve("missing.tar"))
                .hasMessageContaining("dev.isolated:isolated-images")
                .hasMessageContaining("relative to the working directory " + dir);
    }

    @Test
    @DisplayName("rejects an empty name")
    void blank() {
        assertThatThrownBy(() -> new RootfsLocator(emptyLoader(), dir).locate(" "))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rootfs name is empty");
    }

    @Test
    @DisplayName("finds busybox.tar of isolated-images on the test class path, and the cache unpacks it")
    void bundledBusybox(@TempDir Path cacheDirectory) throws IOException {
        ImageSource source = RootfsLocator.forCurrentThread().locate("busybox.tar");
        List<String> notes = new ArrayList<>();

        Path rootfs = new ImageCache(cacheDirectory, new SafeTarUnpacker(UnpackLimits.defaults()), notes::add)
                .rootfsFor(source);

        assertThat(rootfs.resolve("bin/busybox")).isExecutable();
        assertThat(Files.readSymbolicLink(rootfs.resolve("bin/sh"))).hasToString("busybox");
        assertThat(rootfs.resolve("usr/bin/env")).isExecutable();
        assertThat((Integer) Files.getAttribute(rootfs.resolve("tmp"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777)
                .isEqualTo(01777);
        assertThat(rootfs.resolve("proc")).isEmptyDirectory();
        assertThat(notes).hasSize(1);
    }

    private static byte[] readAll(ImageSource.Archive archive) throws IOException {
        try (InputStream in = archive.open()) {
            return in.readAllBytes();
        }
    }

    private static ClassLoader emptyLoader() {
        return new URLClassLoader(new URL[0], null);
    }

    @Test
    @DisplayName("takes the part after the last '#' as a tag, unless the whole name exists")
    void tag() throws IOException {
        Files.write(dir.resolve("app.tar"), IMAGE);
        Files.write(dir.resolve("odd#name.tar"), IMAGE);
        RootfsLocator locator = new RootfsLocator(null, dir);

        ImageSource tagged = locator.locate("app.tar#registry.example.com:5000/myapp:1.0");
        ImageSource odd = locator.locate("odd#name.tar");

        assertThat(tagged.reference()).isEqualTo("registry.example.com:5000/myapp:1.0");
        assertThat(tagged.description()).isEqualTo("file " + dir.resolve("app.tar"));
        assertThat(odd.reference()).isNull();
        assertThat(locator.locate(dir.toString() + "#1.0")).isEqualTo(new ImageSource.Directory(dir, "1.0"));
        assertThatThrownBy(() -> locator.locate("missing.tar#1.0"))
                .isInstanceOf(ImageNotFoundException.class)
                .hasMessageContaining("path " + dir.resolve("missing.tar#1.0"))
                .hasMessageContaining("path " + dir.resolve("missing.tar"));
    }
}
