package dev.isolated.internal.helper;

import dev.isolated.IsolatedConfiguration;
import dev.isolated.IsolatedException;
import dev.isolated.internal.os.OwnDirectory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Finds the native helper executable: the one named by {@value #PATH_PROPERTY}, or the one shipped in
 * this jar for the running architecture ({@code os.arch}: the jar holds one for x86_64 and one for aarch64),
 * extracted to a content-addressed directory. Extraction is safe when
 * several JVMs (Surefire forks) do it at once: write to a temp file, fsync, chmod, atomic rename; an
 * existing file is used only when its digest matches (hashed once, then known by its file identity).
 */
public final class HelperBinary {
    /** Configuration parameter naming a helper executable to use instead of the bundled one. */
    public static final String PATH_PROPERTY = IsolatedConfiguration.HELPER_PATH;
    /** Configuration parameter (or env var {@code ISOLATED_HELPER_DIR}) naming the extraction directory, e.g. when the cache dir is noexec. */
    public static final String DIR_PROPERTY = IsolatedConfiguration.HELPER_DIR;
    /** Environment variable naming the extraction directory when {@link #DIR_PROPERTY} is not set. */
    public static final String DIR_ENVIRONMENT_VARIABLE = "ISOLATED_HELPER_DIR";

    private static Path extracted; // the bundled helper, once checked in this JVM

    private HelperBinary() {}

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
            return checkExecutable(
                    Paths.get(explicit),
                    "the configuration parameter " + PATH_PROPERTY,
                    "Make it executable (chmod +x) on an exec-allowed file system, or leave " + PATH_PROPERTY
                            + " unset to use the helper in Isolated's jar.");
        }
        synchronized (HelperBinary.class) {
            if (extracted == null || !Files.isExecutable(extracted)) {
                extracted = extractBundled(extractionBase(configuration));
            }
            return extracted;
        }
    }

    /**
     * Extracts (or finds, checked by digest) the bundled helper under BASE/DIGEST16/. The digest comes from the
     * jar ({@code isolated-helper.sha256}, written by the native build), else it is computed. A file found there is
     * hashed once and then recognized by its identity (device, inode, size, modification and change time, recorded
     * in {@value #VERIFIED}): a fresh JVM neither reads nor hashes the bundled bytes, which costs a few hundred
     * milliseconds before the JIT compiles SHA-256. Any write to the file changes its change time, so it is hashed
     * again, and replaced when it differs.
     */
    static Path extractBundled(Path base) {
        String resource = resourceName();
        String digest = bundledDigest(resource);
        byte[] bytes = digest == null ? readBundled(resource) : null;
        if (digest == null) {
            digest = sha256(bytes);
        }
        Path dir = base.resolve(digest.substring(0, 16));
        Path target = dir.resolve("isolated-helper");
        try {
            Files.createDirectories(dir);
            OwnDirectory.require(base, "the isolated helper", "-D" + DIR_PROPERTY);
            OwnDirectory.require(dir, "the isolated helper", "-D" + DIR_PROPERTY);
            String record = digest + " " + identity(target);
            if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) || !record.equals(readRecord(dir))) {
                if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)
                        || !sha256(Files.readAllBytes(target)).equals(digest)) {
                    extract(bytes != null ? bytes : readBundled(resource), dir, target);
                }
                writeRecord(dir, digest + " " + identity(target));
            }
        } catch (IOException e) {
            throw new IsolatedException(
                    "Cannot extract the isolated helper to " + target + ": " + e + ". Set -D" + DIR_PROPERTY
                            + "=<a writable, exec-allowed directory>.",
                    e);
        }
        return checkExecutable(
                target,
                "the extraction directory (set -D" + DIR_PROPERTY + " to change it)",
                "Set -D" + DIR_PROPERTY + "=<a directory on an exec-allowed file system>.");
    }

    /** The file in the extraction directory that records the identity of the helper last found whole. */
    static final String VERIFIED = "isolated-helper.verified";

    private static byte[] readBundled(String resource) {
        try (InputStream in = HelperBinary.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IsolatedException("The isolated helper for " + System.getProperty("os.arch")
                        + " is not in this isolated-junit jar (looked for resource " + resource + "): the native "
                        + "module was left out of its build. Build the whole project (mvn install), or set -D"
                        + PATH_PROPERTY + "=<a helper built from native/>.");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IsolatedException("Cannot read the bundled isolated helper " + resource + ": " + e, e);
        }
    }

    /** @return the SHA-256 the native build wrote next to the helper in the jar, or {@code null} */
    private static String bundledDigest(String resource) {
        try (InputStream in = HelperBinary.class.getClassLoader().getResourceAsStream(resource + ".sha256")) {
            if (in == null) {
                return null;
            }
            String text = new String(in.readNBytes(128), java.nio.charset.StandardCharsets.US_ASCII).trim();
            return text.matches("[0-9a-f]{64}") ? text : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String identity(Path file) throws IOException {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return "none";
        }
        Map<String, Object> a =
                Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime", LinkOption.NOFOLLOW_LINKS);
        return a.get("dev") + " " + a.get("ino") + " " + a.get("size") + " "
                + ((FileTime) a.get("lastModifiedTime")).to(TimeUnit.NANOSECONDS) + " "
                + ((FileTime) a.get("ctime")).to(TimeUnit.NANOSECONDS);
    }

    private static String readRecord(Path dir) {
        try {
            return Files.readString(dir.resolve(VERIFIED)).trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** Written to a temporary name and renamed, so that JVMs checking at once read a whole record or none. */
    private static void writeRecord(Path dir, String record) throws IOException {
        Path tmp = Files.createTempFile(dir, ".isolated-helper-verified-", ".tmp");
        try {
            Files.writeString(tmp, record + "\n");
            Files.move(tmp, dir.resolve(VERIFIED), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
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
            throw new IsolatedException(
                    "Isolated needs Linux (namespaces, pivot_root); this JVM runs on " + osName + ".");
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
        String xdg = System.getenv("XDG_CACHE_HOME"); // only when absolute, as the XDG spec asks (and the image cache)
        Path cache = xdg != null && !xdg.isBlank() && Paths.get(xdg).isAbsolute()
                ? Paths.get(xdg)
                : Paths.get(System.getProperty("user.home"), ".cache");
        return cache.resolve("isolated").resolve("helper");
    }

    private static void extract(byte[] bytes, Path dir, Path target) throws IOException {
        Path tmp = Files.createTempFile(dir, ".isolated-helper-", ".tmp");
        try {
            try (FileChannel ch =
                    FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
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

    /** @param fix what to do when {@code path} cannot be executed: the setting that moves it, or how to mend it */
    private static Path checkExecutable(Path path, String origin, String fix) {
        if (!Files.isRegularFile(path)) {
            throw new IsolatedException("The isolated helper " + path + " (from " + origin + ") does not exist.");
        }
        if (!Files.isExecutable(path)) {
            throw new IsolatedException("The isolated helper " + path + " (from " + origin + ") cannot be executed; "
                    + "is its file system mounted noexec? " + fix);
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
