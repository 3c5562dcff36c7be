package dev.isolated;

import java.util.List;
import java.util.Set;

/**
 * An environment made for one test by {@link Isolated}: fresh namespaces and a copy-on-write view of
 * an image's rootfs as {@code /}. Declare it as a parameter of a test (or {@code @BeforeEach}) method
 * to receive it. Commands run with {@link #exec(String...)} join all of its namespaces and see its
 * init as PID 1, its mounts, and its hostname.
 *
 * <p>The environment is closed by the extension after the test; {@link #close()} may also be called
 * earlier and is harmless when repeated.
 */
public interface IsolatedEnvironment extends CommandRunner, AutoCloseable {

    /** @return the namespaces this environment has (including {@link Namespace#USER} when it was added for rootless use) */
    Set<Namespace> namespaces();

    /**
     * Runs commands joining only the given namespaces of this environment, as {@code nsenter} does; the
     * others stay the JVM's (the host's). Without {@link Namespace#MOUNT} a command sees the host's
     * filesystem rather than the image; without {@link Namespace#NET} it sees the host's network devices.
     *
     * @param namespaces the namespaces to join; each must be one this environment has
     * @return a runner for such commands
     * @throws IllegalArgumentException naming the namespace when the environment does not have it
     */
    CommandRunner enter(Namespace... namespaces);

    /**
     * Runs a command as PID 1 of a new PID namespace of its own inside this environment, with a fresh
     * {@code /proc}, as {@code unshare -p -f --mount-proc} does: {@code ps} run this way lists only
     * itself, as PID 1.
     *
     * @param command the program and its arguments
     * @return the result
     */
    ExecResult execAsPid1(String... command);

    /** @return the processes now running in the environment's PID namespace, ordered by pid */
    List<ProcessInfo> processes();

    /** @return the environment's mounts, as its {@code /proc/self/mountinfo} lists them */
    List<MountInfo> mounts();

    /** @return the environment's current hostname (what {@code hostname} prints inside) */
    String hostname();

    /** @return the host pid of the environment's init, the process that holds its namespaces */
    long initHostPid();

    /**
     * Kills every process in the environment and removes everything it mounted and wrote. Harmless when
     * called again.
     *
     * @throws EnvironmentCleanupException listing every leftover when something could not be cleaned up
     */
    @Override
    void close();
}
