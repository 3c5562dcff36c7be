package dev.isolated.internal.image;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Resolves the {@code rootfs} of {@code @Isolated(rootfs = "busybox.tar")} to an {@link ImageSource}:
 * first as a resource on the test's class loader, then as a path, absolute or relative to the working
 * directory. A path to a directory is taken as an image layout (OCI, or an unpacked {@code docker save}
 * or docker-archive) when it holds {@code oci-layout}, {@code index.json} or {@code manifest.json} at
 * its top, whatever else it holds, and otherwise as an already unpacked rootfs.
 *
 * <h2>Choosing one image by tag</h2>
 * An archive or layout that holds several images ({@code docker save a:1 b:2 -o app.tar}) needs a tag,
 * given after {@code #}:
 * <pre>{@code
 * @Isolated(rootfs = "app.tar#myapp:1.0")        // the image tagged myapp:1.0
 * @Isolated(rootfs = "oci-dir#docker.io/library/myapp:1.0")
 * @Isolated(rootfs = "images/oci.tar#1.0")       // an OCI ref.name annotation
 * }</pre>
 * The part after the last {@code #} is the tag; Docker's short forms are equal ({@code myapp} is
 * {@code myapp:latest} is {@code docker.io/library/myapp:latest}). A name that exists as it is,
 * {@code #} included, is taken as it is. Without a tag, an archive with several images is refused with
 * a message listing its tags.
 */
public final class RootfsLocator {

    private final ClassLoader classLoader;
    private final Path workingDirectory;

    /**
     * @param classLoader where to look for resources (the test's context class loader)
     * @param workingDirectory what relative paths are relative to
     */
    public RootfsLocator(ClassLoader classLoader, Path workingDirectory) {
        this.classLoader = classLoader;
        this.workingDirectory = workingDirectory.toAbsolutePath();
    }

    /** A locator over the current thread's context class loader and the JVM's working directory. */
    public static RootfsLocator forCurrentThread() {
        return new RootfsLocator(
                Thread.currentThread().getContextClassLoader(), Path.of(System.getProperty("user.dir")));
    }

    /**
     * Finds the image named {@code rootfs}.
     *
     * @throws ImageNotFoundException if it is neither a resource nor an existing file or directory;
     *     the message lists each place tried
     * @throws IllegalArgumentException if {@code rootfs} is blank
     */
    public ImageSource locate(String rootfs) {
        return locate(rootfs, new boolean[1]);
    }

    /**
     * As {@link #locate(String)}, and says where it was found.
     *
     * @param onClassPath its element 0 is set to whether the image is a class path resource (or a tag of one)
     */
    ImageSource locate(String rootfs, boolean[] onClassPath) {
        if (rootfs == null || rootfs.isBlank()) {
            throw new IllegalArgumentException("The rootfs name is empty; give a classpath resource such as "
                    + "\"busybox.tar\" or the path of a tar file or rootfs directory");
        }
        List<String> tried = new ArrayList<>();
        ImageSource source = find(rootfs, tried, onClassPath);
        if (source != null) {
            return source;
        }
        int hash = rootfs.lastIndexOf('#');
        if (hash > 0 && hash < rootfs.length() - 1) {
            String tag = rootfs.substring(hash + 1);
            ImageSource tagged = find(rootfs.substring(0, hash), tried, onClassPath);
            if (tagged instanceof ImageSource.Archive archive) {
                return archive.withReference(tag);
            }
            if (tagged instanceof ImageSource.Directory directory) {
                return directory.withReference(tag);
            }
        }
        throw new ImageNotFoundException(notFoundMessage(rootfs, tried));
    }

    /** The image named exactly {@code rootfs}, or {@code null}; adds each place looked at to {@code tried}. */
    private ImageSource find(String rootfs, List<String> tried, boolean[] onClassPath) {
        String resourceName = rootfs.startsWith("/") ? rootfs.substring(1) : rootfs;
        URL resource = classLoader == null ? null : classLoader.getResource(resourceName);
        if (resource != null) {
            onClassPath[0] = true;
            return fromResource(resourceName, resource);
        }
        tried.add("classpath resource '" + resourceName + "' (class loader " + classLoader + ")");
        try {
            Path path = workingDirectory.resolve(rootfs).normalize();
            tried.add("path " + path);
            if (Files.isDirectory(path)) {
                return ImageSource.ofDirectory(path);
            }
            if (Files.isRegularFile(path)) {
                return ImageSource.ofFile(path);
            }
        } catch (InvalidPathException e) {
            tried.add("path '" + rootfs + "': not a valid path (" + e.getReason() + ")");
        }
        return null;
    }

    private static ImageSource fromResource(String name, URL url) {
        if ("file".equals(url.getProtocol())) {
            try {
                Path path = Path.of(url.toURI());
                if (Files.isDirectory(path)) {
                    return ImageSource.ofDirectory(path);
                }
            } catch (URISyntaxException | IllegalArgumentException e) {
                // An unusual file: URL; read it through the URL like any other resource.
            }
        }
        return ImageSource.ofResource(name, url);
    }

    private String notFoundMessage(String rootfs, List<String> tried) {
        StringBuilder message = new StringBuilder("Image '").append(rootfs).append("' not found. Tried:");
        tried.forEach(place -> message.append("\n  - ").append(place));
        return message.append("\nTo fix: put the image on the test class path (for busybox.tar and hello.tar add the ")
                .append("test dependency dev.isolated:isolated-images; for your own image, a resource under ")
                .append(
                        "src/test/resources), or give the path of a tar (plain, gzip, xz or zstd; a rootfs, a docker save archive ")
                .append(
                        "or an OCI layout), of an OCI layout directory or of an unpacked rootfs directory, absolute or ")
                .append("relative to the working directory ")
                .append(workingDirectory)
                .append('.')
                .toString();
    }
}
