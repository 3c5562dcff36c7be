package dev.isolated.internal.image;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where an image comes from: an archive to unpack, or a directory (an unpacked rootfs, or an OCI image
 * layout). Either may carry a {@linkplain #reference() reference}, the tag that picks one image from
 * an archive or layout holding several.
 */
public sealed interface ImageSource permits ImageSource.Archive, ImageSource.Directory {

    /** A human-readable description for messages, e.g. {@code classpath resource 'busybox.tar' (jar:...)}. */
    String description();

    /** The tag that picks one image ({@code myapp:1.0}), or {@code null} to take the only one. */
    String reference();

    /** A tar file (plain, gzip, xz or zstd; rootfs, {@code docker save} or OCI layout) on disk. */
    static Archive ofFile(Path tar) {
        Path absolute = tar.toAbsolutePath();
        return new Archive("file " + absolute, () -> Files.newInputStream(absolute), absolute, null);
    }

    /** A tar found as a classpath resource; works for {@code jar:} and {@code file:} URLs alike. */
    static Archive ofResource(String name, URL url) {
        return new Archive(
                "classpath resource '" + name + "' (" + url + ")", new ResourceOpener(url), backingFile(url), null);
    }

    /** Opens a class path resource (a class, not a lambda: each lambda is a class spun at its first use). */
    final class ResourceOpener implements Opener {
        private final URL url;

        ResourceOpener(URL url) {
            this.url = url;
        }

        @Override
        public InputStream open() throws IOException {
            URLConnection connection = url.openConnection();
            connection.setUseCaches(false); // a cached JarFile would stay open after the tests
            return connection.getInputStream();
        }
    }

    /** An already unpacked rootfs, or an OCI image layout directory. */
    static Directory ofDirectory(Path directory) {
        return new Directory(directory.toAbsolutePath(), null);
    }

    /** The file whose version fixes a resource's bytes: the file itself, or the jar holding it. */
    private static Path backingFile(URL url) {
        try {
            if ("file".equals(url.getProtocol())) {
                return Path.of(url.toURI());
            }
            if ("jar".equals(url.getProtocol())) {
                String spec = url.getPath(); // file:/path/to/x.jar!/entry
                int separator = spec.indexOf("!/");
                if (spec.startsWith("file:") && separator > 0) {
                    return Path.of(new URI(spec.substring(0, separator)));
                }
            }
        } catch (URISyntaxException | IllegalArgumentException e) {
            // An unusual URL: the resource is hashed on every use instead.
        }
        return null;
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
     * @param backingFile the file whose version fixes the bytes (so their digest can be remembered), or
     *     {@code null}
     * @param reference the tag to pick, or {@code null}
     */
    record Archive(String description, Opener opener, Path backingFile, String reference) implements ImageSource {

        /** An archive without a backing file or reference. */
        public Archive(String description, Opener opener) {
            this(description, opener, null, null);
        }

        /** Opens a fresh stream over the archive's bytes. */
        public InputStream open() throws IOException {
            return opener.open();
        }

        /** The same archive, picking the image tagged {@code tag}. */
        public Archive withReference(String tag) {
            return new Archive(description, opener, backingFile, tag);
        }
    }

    /**
     * A directory: an already unpacked rootfs, used as it is, or an OCI image layout to unpack.
     *
     * @param path the directory, absolute
     * @param reference the tag to pick from a layout, or {@code null}
     */
    record Directory(Path path, String reference) implements ImageSource {

        /** A directory without a reference. */
        public Directory(Path path) {
            this(path, null);
        }

        /** The same directory, picking the image tagged {@code tag}. */
        public Directory withReference(String tag) {
            return new Directory(path, tag);
        }

        @Override
        public String description() {
            return "directory " + path;
        }
    }
}
