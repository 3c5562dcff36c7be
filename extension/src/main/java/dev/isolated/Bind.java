package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.apiguardian.api.API;

/**
 * Mounts a host file or directory into the environments of an {@link Isolated} test class or method, for
 * fixtures going in and results coming out:
 *
 * <pre>{@code
 * @Isolated(rootfs = "busybox.tar")
 * @Bind(source = "src/test/fixtures", target = "/fixtures")
 * @Bind(source = "target/out", target = "/out", readOnly = false)
 * class ReportTest { ... }
 * }</pre>
 *
 * Binds of the class (and of its superclasses: it is inherited) and of the method add up. A relative {@code source} is relative to the working
 * directory; it must exist. Needs {@link LinuxNamespace#MOUNT}. Every bind, read-only or not, is mounted
 * {@code nosuid,nodev} (with its submounts): a device node in it, bound from the host or made inside with
 * {@code mknod}, opens nothing ({@code Permission denied}), and setuid/setgid bits there give no privileges.
 * In code: {@link IsolatedEnvironmentBuilder#bind(java.nio.file.Path, String)} and
 * {@link IsolatedEnvironmentBuilder#bindWritable(java.nio.file.Path, String)}.
 *
 * @since 0.1
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Repeatable(Bind.List.class)
@API(status = STABLE, since = "0.1")
public @interface Bind {
    /** {@return the host path} */
    String source();

    /** {@return the absolute path inside the environment} */
    String target();

    /** {@return whether the environment may not write through it (default: read-only)} */
    boolean readOnly() default true;

    /**
     * Holds repeated {@link Bind} annotations.
     *
     * @since 0.1
     */
    @Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
    @Retention(RetentionPolicy.RUNTIME)
    @Documented
    @Inherited
    @API(status = STABLE, since = "0.1")
    @interface List {
        /** {@return the binds} */
        Bind[] value();
    }
}
