package dev.isolated;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs each test in an environment made for it alone: a copy-on-write view of an image's rootfs
 * entered with {@code pivot_root}, inside freshly unshared Linux namespaces. No daemon, no Docker.
 *
 * <pre>{@code
 * @Isolated(rootfs = "busybox.tar", namespaces = {PID, MOUNT, UTS}, hostname = "box")
 * class PidOneTest {
 *     @Test
 *     void psSeesOnlyTheEnvironment(IsolatedEnvironment env) {
 *         assertThat(env.exec("ps", "-o", "pid,comm")).succeeded();
 *         assertThat(env).pid1().hasCommand("isolated-init");
 *         assertThat(env).hostname().isEqualTo("box");
 *     }
 * }
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * Every test method gets a fresh environment before it starts (before {@code @BeforeEach} methods
 * that take an {@link IsolatedEnvironment} parameter), and it is closed after the test: every
 * process in it is killed, its mounts vanish with its mount namespace, and nothing it wrote remains.
 * On a class the annotation applies to every test method; on a method it replaces the class's
 * annotation, except that an empty {@link #rootfs()} or {@link #hostname()} is taken from the class.
 *
 * <h2>When the host cannot do it</h2>
 * When the kernel or the user cannot create what was asked (user namespaces disabled, a masked
 * {@code /proc}, a namespace the kernel lacks), the test is <em>aborted</em> with a message that says
 * which step failed and which setting to change, as Testcontainers does without Docker.
 *
 * <p>This annotation may be used as a meta-annotation to create a composed annotation.
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(IsolatedExtension.class)
public @interface Isolated {

    /**
     * Configuration parameter (in {@code junit-platform.properties} or as a system property) giving the
     * rootfs used when neither the method's nor the class's annotation names one: {@value}.
     */
    String DEFAULT_ROOTFS_PROPERTY = "isolated.rootfs";

    /**
     * The image to use as the environment's root filesystem: a tar (plain or gzip-compressed) or a
     * directory. It is looked up as a resource on the test class path first (for example
     * {@code "busybox.tar"} from the {@code isolated-images} artifact), then as a path relative to the
     * working directory. The image is unpacked once per run and never written; each environment gets
     * its own writable copy-on-write view of it.
     *
     * @return the image's resource name or path; empty to inherit
     */
    String rootfs() default "";

    /**
     * The namespaces to create for the environment. {@link Namespace#USER} is added when the tests do
     * not run as root.
     *
     * @return the namespaces, by default {@code PID, MOUNT, UTS, IPC}
     */
    Namespace[] namespaces() default {Namespace.PID, Namespace.MOUNT, Namespace.UTS, Namespace.IPC};

    /**
     * The environment's hostname (needs {@link Namespace#UTS}). When empty it is derived from the test
     * method's name, e.g. {@code psSeesOnlyTheEnvironment} becomes {@code psseesonlytheenvironment}.
     *
     * @return the hostname; empty to derive it
     */
    String hostname() default "";
}
