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
 * directory. A path to a directory is taken as an already unpacked rootfs.
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
        return new RootfsLocator(Thread.currentThread().getContextClassLoader(), Path.of(System.getProperty("user.dir")));
    }

    /**
     * Finds the image named {@code rootfs}.
     *
     * @throws ImageNotFoundException if it is neither a resource nor an existing file or directory;
     *     the message lists each place tried
     * @throws IllegalArgumentException if {@code rootfs} is blank
     */
    public ImageSource locate(String rootfs) {
        if (rootfs == null || rootfs.isBlank()) {
            throw new IllegalArgumentException("The rootfs name is empty; give a classpath resource such as "
                    + "\"busybox.tar\" or the path of a tar file or rootfs directory");
        }
        List<String> tried = new ArrayList<>();
        String resourceName = rootfs.startsWith("/") ? rootfs.substring(1) : rootfs;
        URL resource = classLoader == null ? null : classLoader.getResource(resourceName);
        tried.add("classpath resource '" + resourceName + "' (class loader " + classLoader + ")");
        if (resource != null) {
            return fromResource(resourceName, resource);
        }
        try {
            Path path = workingDirectory.resolve(rootfs).normalize();
            tried.add("path " + path);
            if (Files.isDirectory(path)) {
                return ImageSource.ofDirectory(path);
            }
            if (Files.isRegularFile(path)) {
                return ImageSource.ofFile(path);
            }
        }
        catch (InvalidPathException e) {
            tried.add("path '" + rootfs + "': not a valid path (" + e.getReason() + ")");
        }
        throw new ImageNotFoundException(notFoundMessage(rootfs, tried));
    }

    private static ImageSource fromResource(String name, URL url) {
        if ("file".equals(url.getProtocol())) {
            try {
                Path path = Path.of(url.toURI());
                if (Files.isDirectory(path)) {
                    return ImageSource.ofDirectory(path);
                }
            }
            catch (URISyntaxException | IllegalArgumentException e) {
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
                .append("src/test/resources), or give the path of a tar (plain or gzip) or of an unpacked rootfs ")
                .append("directory, absolute or relative to the working directory ")
                .append(workingDirectory)
                .append('.')
                .toString();
    }
}
