package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.apiguardian.api.API;

/**
 * Resource limits for the environments of an {@link Isolated} test class or method, enforced by a cgroup
 * made for each environment (cgroup v2, or v1 where the host has it) and by rlimits:
 *
 * <pre>{@code
 * @Isolated(rootfs = "busybox.tar")
 * @Limits(memoryBytes = 64 << 20, pids = 50, cpuPercent = 50, openFiles = 256)
 * class GreedyTest { ... }
 * }</pre>
 *
 * A command killed by the kernel's OOM killer has {@link ExecResult#oomKilled()} set (exit code 137);
 * {@link IsolatedEnvironment#resourceUsage()} tells the peak memory and the process count. When the host
 * cannot apply a requested limit (the cgroup controller is not there or not delegated to the user), the
 * environment is not created and the test fails with the reason (it is aborted instead with
 * {@link Isolated#skipIfUnsupported()}); a limit is never silently ignored. A negative value fails the test with an
 * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} ({@code @Limits(memoryBytes = -1): a limit is 0
 * (none) or more}), as the builder's methods throw an {@link IllegalArgumentException}.
 * {@code @Limits} with no value (nothing limited) still enables the cgroup's memory and pids accounting, to
 * count; one with only rlimits ({@code openFiles}, {@code fileSizeBytes}, {@code cpuSeconds}) needs no cgroup
 * controller, so it works where cgroups are not delegated (and {@code resourceUsage()} is not available). Every
 * environment has a cgroup of its own where one can be made, limits or not: it is what kills its processes (see
 * {@link LinuxNamespace#PID}). A method's {@code @Limits} replaces its class's, a class's its superclass's (it is inherited). In code, the builder's methods have
 * these names: {@link IsolatedEnvironmentBuilder#memoryBytes(long)}, {@link IsolatedEnvironmentBuilder#pids(int)},
 * {@link IsolatedEnvironmentBuilder#cpuPercent(int)}, {@link IsolatedEnvironmentBuilder#openFiles(int)},
 * {@link IsolatedEnvironmentBuilder#fileSizeBytes(long)}, {@link IsolatedEnvironmentBuilder#cpuSeconds(int)}.
 *
 * <p>It may be used as a meta-annotation to create a composed annotation. Two annotations of one class, method or
 * composed annotation that carry different {@code @Limits} settings (two composed ones, or one and a
 * {@code @Limits}), of which JUnit would silently take the first, fail the class or test with an
 * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} naming them, e.g.
 * {@code @FewFiles and @ManyFiles on class UploadTest carry different @Limits settings, and only one can apply: keep
 * one of them (a @Limits on a test method replaces its class's, for settings of some tests only)}; ones with equal
 * settings are fine.
 *
 * @since 0.1
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@API(status = STABLE, since = "0.1")
public @interface Limits {
    /** {@return the memory limit in bytes (cgroup {@code memory.max}, v1 {@code memory.limit_in_bytes}); 0 for none} */
    long memoryBytes() default 0;

    /** {@return the most processes and threads at once (cgroup {@code pids.max}); 0 for none} */
    int pids() default 0;

    /**
     * {@return the CPU share in percent of one CPU (cgroup {@code cpu.max}, v1 {@code cpu.cfs_quota_us}, of a
     * period of 100 ms), e.g. 50 or 200; 0 for none}
     */
    int cpuPercent() default 0;

    /**
     * {@return the open-file limit of every process (RLIMIT_NOFILE); 0 to keep the inherited one} At most the JVM's
     * hard limit ({@code ulimit -Hn}), as for every rlimit (see {@link IsolatedEnvironmentBuilder#rlimit(Rlimit, long)}).
     */
    int openFiles() default 0;

    /**
     * {@return the largest file a process may write, in bytes (RLIMIT_FSIZE); 0 for no limit} A process that writes
     * past it is killed by {@code SIGXFSZ} (exit code 153) and the file stays at the limit.
     */
    long fileSizeBytes() default 0;

    /**
     * {@return the CPU seconds a process may use (RLIMIT_CPU); 0 for no limit} Soft and hard limit are the same, so
     * a process that reaches it is killed with {@code SIGKILL}: exit code 137, {@link ExecResult#oomKilled()} false.
     */
    int cpuSeconds() default 0;
}
