package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * A resource limit of every process of an environment ({@code setrlimit}), soft and hard alike, for
 * {@link IsolatedEnvironmentBuilder#rlimit(Rlimit, long)}. {@link Limits#openFiles()},
 * {@link Limits#fileSizeBytes()} and {@link Limits#cpuSeconds()} set {@link #NOFILE}, {@link #FSIZE} and
 * {@link #CPU}; the builder has {@link IsolatedEnvironmentBuilder#openFiles(int)},
 * {@link IsolatedEnvironmentBuilder#fileSizeBytes(long)} and {@link IsolatedEnvironmentBuilder#cpuSeconds(int)}
 * for those three. A value above the JVM's hard limit ({@code ulimit -H}) cannot be set: no environment can raise a
 * hard limit, so the environment's creation fails with an {@link EnvironmentSetupException} at stage {@code rlimit}
 * naming the limit, the value and that hard limit.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public enum Rlimit {
    /** {@code RLIMIT_NOFILE}: the most open files of a process. */
    NOFILE("nofile"),
    /** {@code RLIMIT_NPROC}: the most processes and threads of the process's user, counted
     * host-wide per real uid ({@link Limits#pids()} counts the environment's alone). */
    NPROC("nproc"),
    /** {@code RLIMIT_CPU}: the CPU seconds a process may use. */
    CPU("cpu"),
    /** {@code RLIMIT_FSIZE}: the largest file a process may write, in bytes. */
    FSIZE("fsize"),
    /** {@code RLIMIT_AS}: the most virtual memory of a process, in bytes. */
    AS("as"),
    /** {@code RLIMIT_STACK}: the largest stack of a process, in bytes. */
    STACK("stack"),
    /** {@code RLIMIT_MEMLOCK}: the most memory a process may lock, in bytes. */
    MEMLOCK("memlock"),
    /** {@code RLIMIT_CORE}: the largest core dump, in bytes (0 everywhere unless given). */
    CORE("core");

    private final String helperName;

    Rlimit(String helperName) {
        this.helperName = helperName;
    }

    /** @return the name the helper's {@code rlimit=} field uses, e.g. {@code "nofile"} */
    String helperName() {
        return helperName;
    }
}
