package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where an image comes from: an archive to unpack, or a directory that already is a rootfs.
 */
public sealed interface ImageSource permits ImageSource.Archive, ImageSource.Directory {

    /** A human-readable description for messages, e.g. {@code classpath resource 'busybox.tar' (jar:...)}. */
    String description();

    /** A tar file (plain or gzip-compressed) on disk. */
    static Archive ofFile(Path tar) {
        Path absolute = tar.toAbsolutePath();
        return new Archive("file " + absolute, () -> Files.newInputStream(absolute));
    }

    /** A tar found as a classpath resource; works for {@code jar:} and {@code file:} URLs alike. */
    static Archive ofResource(String name, URL url) {
        return new Archive("classpath resource '" + name + "' (" + url + ")", () -> {
            URLConnection connection = url.openConnection();
            connection.setUseCaches(false); // a cached JarFile would stay open after the tests
            return connection.getInputStream();
        });
    }

    /** An already unpacked rootfs. */
    static Directory ofDirectory(Path directory) {
        return new Directory(directory.toAbsolutePath());
    }

    /** Opens a fresh stream over the archive's bytes; may be called more than once. */
    @FunctionalInterface
    interface Opener {

        /** @return a new stream positioned at the first byte; the caller closes it */
        InputStream open() throws IOException;
    }

    /**
     * An archive to unpack.
     *
     * @param description for messages
     * @param opener opens the archive's bytes
     */
    record Archive(String description, Opener opener) implements ImageSource {

        /** Opens a fresh stream over the archive's bytes. */
        public InputStream open() throws IOException {
            return opener.open();
        }
    }

    /**
     * An already unpacked rootfs, used as it is.
     *
     * @param path the rootfs directory, absolute
     */
    record Directory(Path path) implements ImageSource {

        @Override
        public String description() {
            return "directory " + path;
        }
    }
}
