package dev.isolated.internal.helper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The smallest root filesystem an environment runs commands in: the host's busybox and some of its applets. */
final class TestRootfs {

    /** The directories every such rootfs has, and nothing else at its top. */
    static final List<String> DIRECTORIES = List.of("bin", "proc", "dev", "tmp", "etc");

    private TestRootfs() {}

    /**
     * Creates {@code bin proc dev tmp etc}, copies {@code /bin/busybox} into {@code bin} and links each
     * applet to it.
     *
     * @param rootfs the directory to create
     * @param applets the commands the environment needs, as {@code bin/NAME -> busybox}
     * @return {@code rootfs}
     */
    static Path busybox(Path rootfs, List<String> applets) throws IOException {
        for (String dir : DIRECTORIES) {
            Files.createDirectories(rootfs.resolve(dir));
        }
        Files.copy(Path.of("/bin/busybox"), rootfs.resolve("bin/busybox"));
        for (String applet : applets) {
            Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
        }
        return rootfs;
    }
}
