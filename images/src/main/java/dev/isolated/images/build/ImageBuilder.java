package dev.isolated.images.build;

import dev.isolated.internal.tar.ReproducibleTarWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;

/**
 * Builds the module's images, {@code busybox.tar} and {@code hello.tar}, reproducibly.
 *
 * <p>Run by the Maven build ({@code exec:java} in {@code process-classes}) with the arguments
 * {@code OUTPUT_DIR WORK_DIR HELLO_SOURCE MTIME}, where MTIME is ISO-8601 or seconds since the epoch
 * (Maven's {@code project.build.outputTimestamp}).
 *
 * <h2>busybox.tar</h2>
 * The host's static busybox as {@code /bin/busybox}; every applet of {@code busybox --list-full} as a
 * <em>relative</em> symlink to it at its canonical path ({@code usr/bin/env -> ../../bin/busybox}),
 * so the links resolve inside the image whether it is the root or an unpacked directory on the host;
 * {@code /etc/passwd}, {@code /etc/group}, {@code /etc/hostname}, {@code /root} and the empty mount
 * points {@code /proc}, {@code /dev}, {@code /sys} and {@code /tmp} (1777).
 *
 * <h2>hello.tar</h2>
 * Only {@code /hello} (0755), the static program compiled from {@code hello.c}.
 */
public final class ImageBuilder {

    /** The classpath name of the busybox image. */
    public static final String BUSYBOX_TAR = "busybox.tar";

    /** The classpath name of the hello image. */
    public static final String HELLO_TAR = "hello.tar";

    private static final String PASSWD = """
            root:x:0:0:root:/root:/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/bin/false
            """;

    private static final String GROUP = """
            root:x:0:
            nogroup:x:65534:
            """;

    private static final String HOSTNAME = "isolated\n";

    private final BusyboxLocator busyboxLocator;
    private final HelloCompiler helloCompiler;
    private final Path helloSource;
    private final ReproducibleTarWriter writer;

    /**
     * @param busyboxLocator finds the busybox to put in {@code busybox.tar}
     * @param helloCompiler compiles the program of {@code hello.tar}
     * @param helloSource its C source
     * @param mtime the mtime of every entry
     */
    public ImageBuilder(BusyboxLocator busyboxLocator, HelloCompiler helloCompiler, Path helloSource, Instant mtime) {
        this.busyboxLocator = busyboxLocator;
        this.helloCompiler = helloCompiler;
        this.helloSource = helloSource;
        this.writer = new ReproducibleTarWriter(mtime);
    }

    /**
     * Builds both images into {@code outputDirectory}.
     *
     * @param outputDirectory where {@value #BUSYBOX_TAR} and {@value #HELLO_TAR} are written
     * @param workDirectory where intermediate files go (the compiled {@code hello})
     * @return the two tars
     * @throws ImageBuildException if a host tool is missing or unsuitable
     */
    public List<Path> buildAll(Path outputDirectory, Path workDirectory) throws IOException {
        Path busybox = outputDirectory.resolve(BUSYBOX_TAR);
        Path hello = outputDirectory.resolve(HELLO_TAR);
        write(busyboxImage(busyboxLocator.locate()), busybox);
        write(helloImage(helloCompiler.compile(helloSource, workDirectory.resolve("hello"))), hello);
        return List.of(busybox, hello);
    }

    static ImageContents busyboxImage(Busybox busybox) throws IOException {
        ImageContents image = new ImageContents()
                .file("bin/busybox", 0755, Files.readAllBytes(busybox.binary()))
                .file("etc/passwd", 0644, PASSWD.getBytes(StandardCharsets.US_ASCII))
                .file("etc/group", 0644, GROUP.getBytes(StandardCharsets.US_ASCII))
                .file("etc/hostname", 0644, HOSTNAME.getBytes(StandardCharsets.US_ASCII))
                .directory("root", 0700)
                .directory("proc", 0755)
                .directory("dev", 0755)
                .directory("sys", 0755)
                .directory("tmp", 01777);
        for (String applet : busybox.applets()) {
            if (!applet.equals("bin/busybox")) {
                image.symlink(applet, relativeTarget(applet, "bin/busybox"));
            }
        }
        return image;
    }

    static ImageContents helloImage(Path binary) throws IOException {
        return new ImageContents().file("hello", 0755, Files.readAllBytes(binary));
    }

    /** The symlink target that leads from {@code link} to {@code target}, both relative to the root. */
    static String relativeTarget(String link, String target) {
        int depth = (int) link.chars().filter(c -> c == '/').count();
        String up = "../".repeat(depth);
        if (depth > 0 && target.startsWith(link.substring(0, link.lastIndexOf('/') + 1))) {
            return target.substring(link.lastIndexOf('/') + 1);
        }
        return up + target;
    }

    private void write(ImageContents image, Path tar) throws IOException {
        Files.createDirectories(tar.toAbsolutePath().getParent());
        Path partial = tar.resolveSibling(tar.getFileName() + ".partial");
        try (OutputStream out = Files.newOutputStream(partial)) {
            writer.write(image.entries(), out);
        }
        Files.move(partial, tar, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Parses an mtime given as seconds since the epoch or as ISO-8601 with an offset
     * ({@code 2026-01-01T00:00:00Z}), the two forms of {@code project.build.outputTimestamp}.
     */
    public static Instant parseMtime(String value) {
        String trimmed = value.strip();
        if (trimmed.matches("\\d+")) {
            return Instant.ofEpochSecond(Long.parseLong(trimmed));
        }
        try {
            return OffsetDateTime.parse(trimmed).toInstant();
        } catch (DateTimeParseException e) {
            throw new ImageBuildException(
                    "Image mtime '" + value + "' is neither seconds since the epoch nor ISO-8601 "
                            + "like 2026-01-01T00:00:00Z; set project.build.outputTimestamp accordingly",
                    e);
        }
    }

    /**
     * Builds the images.
     *
     * @param args {@code OUTPUT_DIR WORK_DIR HELLO_SOURCE MTIME}
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            throw new IllegalArgumentException("Usage: ImageBuilder OUTPUT_DIR WORK_DIR HELLO_SOURCE MTIME");
        }
        ImageBuilder builder = new ImageBuilder(
                BusyboxLocator.standard(),
                HelloCompiler.onPath(System.getenv()),
                Path.of(args[2]),
                parseMtime(args[3]));
        for (Path tar : builder.buildAll(Path.of(args[0]), Path.of(args[1]))) {
            System.out.println("[isolated-images] wrote " + tar + " (" + Files.size(tar) + " bytes)");
        }
    }
}
