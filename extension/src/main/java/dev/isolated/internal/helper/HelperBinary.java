package dev.isolated.internal.helper;

import dev.isolated.IsolatedConfiguration;
import dev.isolated.IsolatedException;
import dev.isolated.internal.os.OwnDirectory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * Finds the native helper executable: the one named by {@value #PATH_PROPERTY}, or the one shipped in
 * this jar for the running architecture ({@code os.arch}: the jar holds one for x86_64 and one for aarch64),
 * extracted to a content-addressed directory. Extraction is safe when
 * several JVMs (Surefire forks) do it at once: write to a temp file, fsync, chmod, atomic rename; an
 * existing file is used only when its digest matches.
 */
public final class HelperBinary {
    /** Configuration parameter naming a helper executable to use instead of the bundled one. */
    public static final String PATH_PROPERTY = IsolatedConfiguration.HELPER_PATH;
    /** Configuration parameter (or env var {@code ISOLATED_HELPER_DIR}) naming the extraction directory, e.g. when the cache dir is noexec. */
    public static final String DIR_PROPERTY = IsolatedConfiguration.HELPER_DIR;
    /** Environment variable naming the extraction directory when {@link #DIR_PROPERTY} is not set. */
    public static final String DIR_ENVIRONMENT_VARIABLE = "ISOLATED_HELPER_DIR";

    private static Path extracted; // the bundled helper, once checked in this JVM

    private HelperBinary() {
    }

    /**
     * @return the path of an executable helper for this machine, configured by system properties
     * @throws IsolatedException saying why (unsupported os/arch, noexec extraction dir, I/O error) and what to set
     */
    public static Path locate() {
        return locate(key -> Optional.ofNullable(System.getProperty(key)));
    }

    /**
     * @param configuration looks up configuration parameters ({@link #PATH_PROPERTY}, {@link #DIR_PROPERTY})
     * @return the path of an executable helper for this machine
     * @throws IsolatedException saying why (unsupported os/arch, noexec extraction dir, I/O error) and what to set
     */
    public static Path locate(Function<String, Optional<String>> configuration) {
        String explicit = configuration.apply(PATH_PROPERTY).orElse(null);
        if (explicit != null && !explicit.isBlank()) {
            return checkExecutable(Paths.get(explicit), "the configuration parameter " + PATH_PROPERTY);
        }
        synchronized (HelperBinary.class) {
            if (extracted == null || !Files.isExecutable(extracted)) {
                extracted = extractBundled(extractionBase(configuration));
            }
            return extracted;
        }
    }

    /** Extracts (or finds, checked by digest) the bundled helper under BASE/DIGEST16/. */
    static Path extractBundled(Path base) {
        String resource = resourceName();
        byte[] bytes;
        try (InputStream in = HelperBinary.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IsolatedException("The isolated helper for " + System.getProperty("os.arch")
                        + " is not in this isolated-junit jar (looked for resource " + resource + "): the native "
                        + "module was left out of its build. Build the whole project (mvn install), or set -D"
                        + PATH_PROPERTY + "=<a helper built from native/>.");
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new IsolatedException("Cannot read the bundled isolated helper " + resource + ": " + e, e);
        }
        String digest = sha256(bytes);
        Path dir = base.resolve(digest.substring(0, 16));
        Path target = dir.resolve("isolated-helper");
        try {
            Files.createDirectories(dir);
            OwnDirectory.require(base, "the isolated helper", "-D" + DIR_PROPERTY);
            OwnDirectory.require(dir, "the isolated helper", "-D" + DIR_PROPERTY);
            if (!Files.isRegularFile(target) || !sha256(Files.readAllBytes(target)).equals(digest)) {
                extract(bytes, dir, target);
            }
        } catch (IOException e) {
            throw new IsolatedException("Cannot extract the isolated helper to " + target + ": " + e
                    + ". Set -D" + DIR_PROPERTY + "=<a writable, exec-allowed directory>.", e);
        }
        return checkExecutable(target, "the extraction directory (set -D" + DIR_PROPERTY + " to change it)");
    }

    static String resourceName() {
        return resourceName(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
    }

    /**
     * @param osName the JVM's {@code os.name}
     * @param osArch the JVM's {@code os.arch}
     * @return the resource of the bundled helper for that platform
     * @throws IsolatedException off Linux, or on an architecture the jar has no helper for, naming it and the fix
     */
    static String resourceName(String osName, String osArch) {
        if (!osName.toLowerCase(Locale.ROOT).contains("linux")) {
            throw new IsolatedException("Isolated needs Linux (namespaces, pivot_root); this JVM runs on "
                    + osName + ".");
        }
        String arch = switch (osArch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> throw new IsolatedException(unsupportedArchitecture(osArch));
        };
        return "dev/isolated/native/linux-" + arch + "/isolated-helper";
    }

    /** The message for a host whose architecture the jar has no helper for. */
    static String unsupportedArchitecture(String osArch) {
        return "Isolated's jar holds its native helper for x86_64 (amd64) and aarch64 (arm64) Linux only; this JVM "
                + "runs on " + osArch + " (os.arch). Build the helper for " + osArch + " from the project's native/ "
                + "directory (gcc -static -D_GNU_SOURCE -o isolated-helper native/src/main/c/*.c) and set -D"
                + PATH_PROPERTY + "=<its path>.";
    }

    private static Path extractionBase(Function<String, Optional<String>> configuration) {
        String dir = configuration.apply(DIR_PROPERTY).orElse(null);
        if (dir == null || dir.isBlank()) {
            dir = System.getenv(DIR_ENVIRONMENT_VARIABLE);
        }
        if (dir != null && !dir.isBlank()) {
            return Paths.get(dir);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Paths.get(xdg) : Paths.get(System.getProperty("user.home"), ".cache");
        return cache.resolve("isolated").resolve("helper");
    }

    private static void extract(byte[] bytes, Path dir, Path target) throws IOException {
        Path tmp = Files.createTempFile(dir, ".isolated-helper-", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(java.nio.ByteBuffer.wrap(bytes));
                ch.force(true);
            }
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("r-xr-xr-x"));
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static Path checkExecutable(Path path, String origin) {
        if (!Files.isRegularFile(path)) {
            throw new IsolatedException("The isolated helper " + path + " (from " + origin + ") does not exist.");
        }
        if (!Files.isExecutable(path)) {
            throw new IsolatedException("The isolated helper " + path + " (from " + origin + ") cannot be executed; "
                    + "is its file system mounted noexec? Set -D" + DIR_PROPERTY
                    + "=<a directory on an exec-allowed file system>.");
        }
        return path;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }
}
