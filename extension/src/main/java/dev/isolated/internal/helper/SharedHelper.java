package dev.isolated.internal.helper;

import dev.isolated.IsolatedException;
import dev.isolated.internal.os.NativeAccess;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * The one resident helper of this JVM, started on first use and restarted if it died. A shutdown hook
 * closes it, so environments are torn down before the JVM exits; if the JVM is killed, the helper sees
 * EOF on its stdin and tears them down itself.
 */
public final class SharedHelper {
    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");
    private static HelperConnection current;
    private static boolean hookInstalled;

    private SharedHelper() {}

    /** @return a live connection to this JVM's helper, started as system properties configure it */
    public static HelperConnection get() {
        return get(key -> Optional.ofNullable(System.getProperty(key)));
    }

    /**
     * @param configuration looks up configuration parameters; consulted only when the helper is (re)started
     * @return a live connection to this JVM's helper
     */
    public static synchronized HelperConnection get(Function<String, Optional<String>> configuration) {
        if (current == null || !current.isAlive()) {
            NativeAccess.warnOnceIfMissing();
            if (current != null) {
                current.close(); // the dead one's pipes; its environments already failed with the reason
            }
            Path binary = HelperBinary.locate(configuration);
            Path stateDir = newStateDir();
            try {
                current = HelperConnection.start(binary, stateDir);
            } catch (RuntimeException | Error e) {
                try {
                    Files.deleteIfExists(stateDir); // a helper that did not start left it empty
                } catch (DirectoryNotEmptyException locked) {
                    // it got as far as locking it: the next helper sweeps it, as it sweeps a killed helper's
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
            if (!hookInstalled) {
                Runtime.getRuntime().addShutdownHook(new ShutdownHook());
                hookInstalled = true;
            }
        }
        return current;
    }

    /** Closes the helper at the JVM's exit (a class, not a lambda: it is made on the first test's path). */
    private static final class ShutdownHook extends Thread {
        ShutdownHook() {
            super("isolated-helper-shutdown");
        }

        @Override
        public void run() {
            shutdown();
        }
    }

    private static synchronized void shutdown() {
        if (current != null) {
            current.close();
            current = null;
        }
    }

    /**
     * A new {@code 0700} directory {@code isolated-run-<random>} in {@code java.io.tmpdir}, made as
     * {@link Files#createTempDirectory} makes one: {@code mkdir(2)}, which fails on anything already there (a link
     * too), with another name then. Its name comes from {@link ThreadLocalRandom}, not the {@code SecureRandom}
     * of {@code createTempDirectory}, whose first use in a JVM (the security providers, {@code /dev/random}, SHA-1)
     * cost the first test tens of milliseconds: the name only has to be hard to take first, never secret.
     */
    private static Path newStateDir() {
        Path tmpdir = Paths.get(System.getProperty("java.io.tmpdir"));
        for (int attempt = 1; ; attempt++) {
            Path dir = tmpdir.resolve("isolated-run-"
                    + Long.toUnsignedString(ThreadLocalRandom.current().nextLong()));
            try {
                return Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PRIVATE));
            } catch (FileAlreadyExistsException taken) {
                if (attempt == 100) {
                    throw stateDirFailure(taken);
                }
            } catch (IOException e) {
                throw stateDirFailure(e);
            }
        }
    }

    private static IsolatedException stateDirFailure(IOException e) {
        return new IsolatedException(
                "Cannot create the helper's state directory in java.io.tmpdir (" + System.getProperty("java.io.tmpdir")
                        + "): " + e,
                e);
    }
}
