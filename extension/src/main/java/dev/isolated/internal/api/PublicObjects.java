package dev.isolated.internal.api;

import dev.isolated.AwaitTimeoutException;
import dev.isolated.EnvironmentCleanupException;
import dev.isolated.EnvironmentSetupException;
import dev.isolated.ExecResult;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;

/**
 * Makes the public types that only Isolated creates ({@link ExecResult}, {@link EnvironmentSetupException},
 * {@link EnvironmentCleanupException}, {@link AwaitTimeoutException}): their constructors are package-private in
 * {@code dev.isolated}, so that no user can forge a result or a setup failure, and {@code dev.isolated}'s
 * {@code PublicObjectMaker} hands them over to the internal packages through here.
 */
public final class PublicObjects {
    private static final String MAKER = "dev.isolated.PublicObjectMaker";

    private static volatile Maker maker;

    private PublicObjects() {}

    /** The constructors, implemented in {@code dev.isolated}. */
    public interface Maker {
        /** @return a result, see {@link #execResult} */
        ExecResult execResult(
                List<String> command,
                int exitCode,
                OptionalInt signal,
                byte[] stdout,
                long stdoutDroppedBytes,
                byte[] stderr,
                long stderrDroppedBytes,
                boolean timedOut,
                boolean oomKilled,
                Duration duration);

        /** @return a setup failure, see {@link #setupException} */
        EnvironmentSetupException setupException(
                String stage,
                String syscall,
                String path,
                int errno,
                String errname,
                String detail,
                String hint,
                boolean hostCannot);

        /** @return a cleanup failure, see {@link #cleanupException} */
        EnvironmentCleanupException cleanupException(String message);

        /** @return an await timeout, see {@link #awaitTimeout} */
        AwaitTimeoutException awaitTimeout(String message);
    }

    /**
     * Called once, by {@code dev.isolated.PublicObjectMaker} as it is initialised.
     *
     * @param made the maker
     * @throws IllegalStateException when {@code made} is not that class, or one was registered already
     */
    public static void register(Maker made) {
        if (!made.getClass().getName().equals(MAKER)
                || made.getClass().getClassLoader() != PublicObjects.class.getClassLoader()) {
            throw new IllegalStateException("Only " + MAKER + " makes Isolated's results and exceptions");
        }
        synchronized (PublicObjects.class) {
            if (maker != null) {
                throw new IllegalStateException(MAKER + " is registered already");
            }
            maker = made;
        }
    }

    private static Maker maker() {
        Maker m = maker;
        if (m == null) {
            try {
                Class.forName(MAKER, true, PublicObjects.class.getClassLoader()); // registers itself
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(MAKER + " is missing from the class path", e);
            }
            m = maker;
        }
        return m;
    }

    /**
     * @param command the command as run
     * @param exitCode the exit code, {@code 128 + N} when killed by signal {@code N}
     * @param signal the signal that killed the command, if any
     * @param stdout the kept standard output: its head and its tail, joined
     * @param stdoutDroppedBytes how many bytes of standard output were dropped between head and tail
     * @param stderr the kept standard error: its head and its tail, joined
     * @param stderrDroppedBytes how many bytes of standard error were dropped between head and tail
     * @param timedOut whether the command was stopped because it ran past its timeout
     * @param oomKilled whether the kernel's OOM killer killed it
     * @param duration how long the command ran
     * @return the result
     */
    public static ExecResult execResult(
            List<String> command,
            int exitCode,
            OptionalInt signal,
            byte[] stdout,
            long stdoutDroppedBytes,
            byte[] stderr,
            long stderrDroppedBytes,
            boolean timedOut,
            boolean oomKilled,
            Duration duration) {
        return maker().execResult(
                        command,
                        exitCode,
                        signal,
                        stdout,
                        stdoutDroppedBytes,
                        stderr,
                        stderrDroppedBytes,
                        timedOut,
                        oomKilled,
                        duration);
    }

    /**
     * @param stage the setup step that failed, e.g. {@code mount-proc}
     * @param syscall the system call that failed, or empty
     * @param path the path involved, or empty
     * @param errno the error number, 0 when none
     * @param errname the symbolic errno, e.g. {@code EPERM}, or empty
     * @param detail the helper's message
     * @param hint what to change, or empty
     * @param hostCannot whether the helper says the host cannot do it ({@code kind=host})
     * @return the setup failure
     */
    public static EnvironmentSetupException setupException(
            String stage,
            String syscall,
            String path,
            int errno,
            String errname,
            String detail,
            String hint,
            boolean hostCannot) {
        return maker().setupException(stage, syscall, path, errno, errname, detail, hint, hostCannot);
    }

    /**
     * @param message the leftovers
     * @return the cleanup failure
     */
    public static EnvironmentCleanupException cleanupException(String message) {
        return maker().cleanupException(message);
    }

    /**
     * @param message what was awaited, for how long, and what was seen instead
     * @return the timeout
     */
    public static AwaitTimeoutException awaitTimeout(String message) {
        return maker().awaitTimeout(message);
    }
}
