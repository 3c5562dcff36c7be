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
 * Mounts a fresh tmpfs in the environments of an {@link Isolated} test class or method, optionally with a
 * size limit, e.g. {@code @Tmpfs(target = "/var/cache", sizeBytes = 16 << 20)}. Writing past the limit
 * fails with ENOSPC inside. Those of a class, its superclasses (it is inherited) and its method add up. Needs
 * {@link LinuxNamespace#MOUNT}. In code:
 * {@link IsolatedEnvironmentBuilder#tmpfs(String, long)}.
 *
 * @since 0.1
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Repeatable(Tmpfs.List.class)
@API(status = STABLE, since = "0.1")
public @interface Tmpfs {
    /** {@return the absolute path inside the environment} */
    String target();

    /**
     * {@return the size limit in bytes; 0 for the kernel's default. A negative one fails the test before anything is
     * made: {@code @Tmpfs(target = "/cache", sizeBytes = -1): a size is 0 (the kernel's default) or more}}
     */
    long sizeBytes() default 0;

    /**
     * Holds repeated {@link Tmpfs} annotations.
     *
     * @since 0.1
     */
    @Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
    @Retention(RetentionPolicy.RUNTIME)
    @Documented
    @Inherited
    @API(status = STABLE, since = "0.1")
    @interface List {
        /** {@return the mounts} */
        Tmpfs[] value();
    }
}
