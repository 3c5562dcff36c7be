package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.apiguardian.api.API;

/**
 * The writable layer of the environments of an {@link Isolated} test class or method: where what they write
 * lives, and what they start from.
 *
 * <pre>{@code
 * @Isolated(rootfs = "busybox.tar")
 * @WritableLayer(storage = LayerStorage.DISK)
 * class BigDataTest { ... }
 *
 * @Isolated(rootfs = "db.tar")
 * @WritableLayer(frozen = "migrated-db")   // made by FrozenState.cached("migrated-db", ...) before the test
 * class RepositoryTest { ... }
 * }</pre>
 *
 * A method's {@code @WritableLayer} replaces its class's, a class's its superclass's (it is inherited). See {@link IsolatedEnvironmentBuilder#writableLayer},
 * {@link IsolatedEnvironmentBuilder#tmpfsSize} and {@link IsolatedEnvironmentBuilder#from}.
 *
 * <p>It may be used as a meta-annotation to create a composed annotation. Two annotations of one class, method or
 * composed annotation that carry different {@code @WritableLayer} settings (two composed ones, or one and a
 * {@code @WritableLayer}), of which JUnit would silently take the first, fail the class or test with an
 * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} naming them, e.g.
 * {@code @SmallLayer and @DiskLayer on class BigDataTest carry different @WritableLayer settings, and only one can
 * apply: keep one of them (a @WritableLayer on a test method replaces its class's, for settings of some tests only)};
 * ones with equal settings are fine.
 *
 * @since 0.1
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@API(status = EXPERIMENTAL, since = "0.1")
public @interface WritableLayer {
    /** {@return where the writable layer lives; {@link LayerStorage#DEFAULT}: as configured (tmpfs unless set)} */
    LayerStorage storage() default LayerStorage.DEFAULT;

    /**
     * {@return the size of a tmpfs writable layer: bytes with an optional {@code k}, {@code m} or {@code g}
     *     suffix, or a percentage of RAM such as {@code 25%}; empty: {@value IsolatedConfiguration#LAYER_TMPFS_SIZE}
     *     (default {@code 50%})}
     */
    String tmpfsSize() default "";

    /**
     * {@return the name of a {@link FrozenState} made in this JVM with {@link FrozenState#cached} (in a static field
     *     of the test class, or a {@code @BeforeAll} method unless the environment is {@code PER_CLASS}, made before
     *     those run): the environments start from that state instead of the bare image
     *     (its image is theirs; {@code rootfs} and {@code image} of {@link Isolated} may be left out and are
     *     ignored). Empty: none}
     */
    String frozen() default "";
}
