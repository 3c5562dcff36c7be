package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.apiguardian.api.API;
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
 * By default every test method (each invocation of a {@code @ParameterizedTest} or {@code @RepeatedTest})
 * gets a fresh environment before it starts (before {@code @BeforeEach} methods that take an
 * {@link IsolatedEnvironment} parameter; the dynamic tests of a {@code @TestFactory} share the factory method's), and
 * it is closed after the test (after {@code @AfterEach} methods): every process in it is
 * killed, its mounts vanish with its mount namespace, and nothing it wrote remains. From the third test in a
 * row of the same settings (hostnames aside) on, that environment may have been made in the background while the
 * test before ran and given the test's hostname when the test took it (a spare, see
 * {@link IsolatedConfiguration#SPARE_ENVIRONMENTS}): fresh all the same, no command has run in it and no test used
 * it. From the second test of such a row on, a test's environment is also closed as the test ends without the test
 * waiting for the answer: the helper kills everything in it before it handles anything else, the class's next test
 * waits for that before it starts, and what a close left behind fails the class when it ends, naming the test.
 * With
 * {@link Lifecycle#PER_CLASS} on a class, one environment is shared by all its test methods (and its
 * {@code @Nested} classes), like a static Testcontainers {@code @Container}. It is made before them, so a
 * {@link Bind}, {@link Tmpfs}, {@link Limits}, {@link WritableLayer}, {@link ClockOffsets}, {@link StartImageCommand}
 * or {@link OnNetwork} on one of its methods
 * (or on a {@code @Nested} class without {@code @Isolated}) cannot apply and fails that test, unless the method has an
 * {@code @Isolated} of its own and so its own environment.
 * On a class the annotation applies to every test method and to {@code @Nested} classes. An annotation on a
 * method, a {@code @Nested} class or a parameter combines with the enclosing ones attribute by attribute:
 * every attribute it leaves at its default value is taken from the enclosing annotation (the class's, then
 * the enclosing classes'), {@link #namespaces()} included ({@link #env()} merges by name instead: see there),
 * so {@code @Isolated(readOnlyRootfs = true)} on a
 * method of a class with {@code namespaces = {PID, MOUNT, NET}} gets a read-only rootfs <em>and</em> those
 * namespaces. Java cannot tell an attribute written with its default value from one left out, so a method
 * cannot set an attribute back to its default when its class changed it; such a test needs a class of its
 * own. {@link #lifecycle()} is read from classes only; on a method or parameter it fails the test.
 *
 * <h2>Several environments</h2>
 * A test parameter annotated with {@code @Isolated} gets an environment of its own, configured by that
 * annotation combined with the method's and the class's (as above), e.g. {@code void talk(IsolatedEnvironment
 * client, @Isolated(hostname = "server") IsolatedEnvironment server)}, closed after the test (a parameter of a
 * {@code @BeforeEach} or {@code @AfterEach} method too; one of a constructor or a {@code @BeforeAll} or
 * {@code @AfterAll} method fails with a {@link org.junit.jupiter.api.extension.ParameterResolutionException} naming
 * where to take it); the {@link Bind}, {@link Tmpfs},
 * {@link Limits}, {@link WritableLayer}, {@link ClockOffsets} and {@link StartImageCommand} of its method and class
 * apply to it as well (a {@link StartImageCommand} on the parameter replaces theirs).
 * {@link IsolatedEnvironment#builder()} makes more in code.
 *
 * <h2>Configuration</h2>
 * Defaults come from JUnit configuration parameters (given to the launcher, system properties or
 * {@code junit-platform.properties}, with JUnit's precedence), whose keys are listed in
 * {@link IsolatedConfiguration}: e.g. {@value IsolatedConfiguration#ROOTFS}, {@value IsolatedConfiguration#EXEC_TIMEOUT}
 * (e.g. {@code 30s}), {@value IsolatedConfiguration#CACHE_DIR}, {@value IsolatedConfiguration#HELPER_DIR}; see the
 * README.
 *
 * <h2>When a test fails</h2>
 * The failure gets a suppressed {@code EnvironmentReport} with the environment's last 20 commands that ended (exit
 * codes, the user each ran as, and the last 400 characters of their output), its processes, mounts and hostname, so Surefire's report shows what the environment looked
 * like. So does a failure in a {@code @BeforeEach} or {@code @AfterEach} method, in a dynamic test of a
 * {@code @TestFactory} (which runs in the factory method's environment), and, with {@link Lifecycle#PER_CLASS}, in a
 * {@code @BeforeAll} or {@code @AfterAll} method.
 *
 * <h2>When the host cannot do it</h2>
 * When the kernel or the user cannot create what was asked (user namespaces disabled, a masked
 * {@code /proc}, a namespace the kernel lacks, a cgroup controller not delegated), the test <em>fails</em>
 * with a message that says which step failed and which setting to change, as Testcontainers fails without
 * Docker. With {@link #skipIfUnsupported()} or {@value IsolatedConfiguration#SKIP_IF_UNSUPPORTED}{@code =true}
 * it is aborted (reported as skipped) instead.
 *
 * <p>This annotation may be used as a meta-annotation to create a composed annotation. Two annotations of one class,
 * method, parameter or composed annotation that carry different {@code @Isolated} settings (two composed ones, or one
 * and an {@code @Isolated}) fail the class or test with an
 * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} naming them: only one could apply.
 *
 * @since 0.1
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.PARAMETER, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith({IsolatedExtension.class, IsolatedNetworkExtension.class})
@API(status = STABLE, since = "0.1")
public @interface Isolated {

    /** The configuration parameter {@value}: the same as {@link IsolatedConfiguration#ROOTFS}. */
    String DEFAULT_ROOTFS_PROPERTY = IsolatedConfiguration.ROOTFS;

    /** The configuration parameter {@value}: the same as {@link IsolatedConfiguration#NAMESPACES}. */
    String DEFAULT_NAMESPACES_PROPERTY = IsolatedConfiguration.NAMESPACES;

    /**
     * The image to use as the environment's root filesystem: a rootfs tar (plain, gzip, xz or zstd), a
     * {@code docker save} archive, a {@code podman save} / {@code skopeo} docker-archive, an OCI image
     * layout (tar or directory), or a rootfs directory. An archive or directory with
     * {@code manifest.json}, {@code index.json} or {@code oci-layout} at its top is read as an image,
     * never as a rootfs; one that cannot be read fails naming the file. It is looked up as a resource on
     * the test class path first (for example {@code "busybox.tar"} from the {@code isolated-images}
     * artifact), then as a path relative to the working directory; {@code "app.tar#myapp:1.0"} picks one
     * image by tag. The image is unpacked once per content into the image cache and never written;
     * each environment gets its own writable copy-on-write view of it. For an image from a registry
     * ({@code "postgres:16"}), use {@link #image()} instead: {@code rootfs} is never looked up in a registry.
     * An image that is not found, or cannot be read or unpacked, fails the test with a
     * {@link dev.isolated.image.ImageException} naming it.
     *
     * @return the image's resource name or path; empty to take the enclosing annotation's, else
     *     {@value IsolatedConfiguration#ROOTFS}
     */
    String rootfs() default "";

    /**
     * An image from a registry to use as the environment's root filesystem, named as Docker names it:
     * {@code "postgres:16"} is {@code docker.io/library/postgres:16} and {@code "postgres"} is
     * {@code docker.io/library/postgres:latest}; {@code "ghcr.io/org/app:1.4"};
     * {@code "127.0.0.1:5000/team/app@sha256:<hex>"} is pinned to one manifest. The first part is a registry
     * only when it holds a {@code .} or {@code :} or is {@code localhost}. A multi-platform image resolves to
     * the entry for linux and this JVM's architecture. The image is pulled into the image store when
     * {@value IsolatedConfiguration#PULL} says so (by default only when it is not there yet; a tag is resolved to
     * a digest at most once per run), every blob checked against its digest, and unpacked once like an OCI
     * layout: its {@code Env}, {@code WorkingDir}, {@code User}, {@code Entrypoint} and {@code Cmd} apply as for an
     * archive. An annotation gives {@code rootfs} or {@code image}, not both; the innermost annotation that gives
     * either decides. A name that is not valid fails the test with an
     * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException}, {@code @Isolated(image = "<name>"): Image
     * name '<name>' is not valid: <why>. ...}. An image that cannot be pulled (or, with {@code never}, is not in the
     * store) fails the test with a {@link dev.isolated.image.ImageException} starting {@code Image <name>: }; a pull
     * setting that is not valid, with an {@link IsolatedException}.
     *
     * @return the image name; empty to take the enclosing annotation's (or {@code rootfs})
     */
    String image() default "";

    /**
     * The namespaces to create for the environment. {@link LinuxNamespace#USER} is always added, also as root (see
     * {@link LinuxNamespace#USER}). An annotation that keeps the default takes its enclosing annotation's, and when all of
     * them keep it, the configuration parameter {@value IsolatedConfiguration#NAMESPACES} (e.g.
     * {@code PID,MOUNT,UTS,IPC}) applies when it is set. The default is every namespace that makes sense for a
     * test; {@link LinuxNamespace#NET} among them, so commands reach none of the host's network (its {@code 127.0.0.1}
     * services, its abstract unix sockets, its loopback traffic) unless a test leaves {@code NET} out.
     *
     * @return the namespaces, by default {@code PID, MOUNT, UTS, IPC, NET, CGROUP}
     */
    LinuxNamespace[] namespaces() default {
        LinuxNamespace.PID,
        LinuxNamespace.MOUNT,
        LinuxNamespace.UTS,
        LinuxNamespace.IPC,
        LinuxNamespace.NET,
        LinuxNamespace.CGROUP
    };

    /**
     * The environment's hostname (needs {@link LinuxNamespace#UTS}). When empty it is the enclosing annotation's, and
     * when that is empty too it is derived from the test method's name (lower case ASCII letters and digits, each run
     * of other characters one dash, cut to 63 characters), e.g. {@code psSeesOnlyTheEnvironment} becomes
     * {@code psseesonlytheenvironment}; a parameter's environment's from the method's and the parameter's
     * ({@code talkTo(..., @Isolated IsolatedEnvironment server)} gives {@code talkto-server}), a
     * {@link Lifecycle#PER_CLASS} environment's from the class's simple name. One that is not a valid hostname (the rule of
     * {@link IsolatedEnvironmentBuilder#hostname(String)}) fails the test with an
     * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} naming it, as does a hostname given
     * without {@link LinuxNamespace#UTS} among the namespaces.
     *
     * @return the hostname; empty to derive it
     */
    String hostname() default "";

    /**
     * Whether the rootfs is read-only, so that stray writes fail loudly with EROFS; {@code /tmp},
     * {@code /dev}, {@link Tmpfs} mounts and writable {@link Bind}s stay writable.
     *
     * @return whether the rootfs is read-only
     */
    boolean readOnlyRootfs() default false;

    /**
     * Which capabilities the environment's root keeps in its namespaces. {@code no_new_privs} is always set.
     *
     * @return {@link Capabilities#DOCKER_DEFAULT} (default: as {@code docker run}; no mount, no
     *     {@code hostname NAME}) or {@link Capabilities#ALL} (like {@code unshare}: root inside can mount)
     */
    Capabilities capabilities() default Capabilities.DOCKER_DEFAULT;

    /**
     * Whether commands run under the built-in seccomp filter, which refuses kernel keyrings, {@code bpf}, perf
     * events, {@code userfaultfd}, {@code io_uring}, kexec, module loading, {@code TIOCSTI} and the like (see
     * {@link Seccomp#DEFAULT}). {@link Seccomp#UNCONFINED} is the explicit opt-out.
     *
     * @return {@link Seccomp#DEFAULT} (default) or {@link Seccomp#UNCONFINED}
     */
    Seccomp seccomp() default Seccomp.DEFAULT;

    /**
     * Who the user running the tests is inside the environment's user namespace (see {@link UserMapping}).
     *
     * @return {@link UserMapping#ROOT} (default), {@link UserMapping#SELF} or {@link UserMapping#SUBIDS}
     */
    UserMapping userMapping() default UserMapping.ROOT;

    /**
     * Environment variables for every command of the environment ({@code exec}, {@code start},
     * {@code execAsPid1}, {@code enter(...)}, {@code processBuilder}, the image's command), each
     * {@code "NAME=value"} (the value may hold {@code =}), e.g. {@code env = {"LANG=C.UTF-8", "PGDATA=/data"}}.
     * They override {@code PATH}, {@code HOME} and the image's {@code Env} of the same name;
     * {@link Command#withEnv} overrides them. Annotations combine by name: an inner annotation's variable
     * replaces the enclosing annotation's of the same name, and the enclosing annotation's others are kept. An
     * entry without {@code =} (or with an empty name) fails the test with an
     * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} naming it.
     *
     * @return the variables; empty for the enclosing annotation's only
     */
    String[] env() default {};

    /**
     * The working directory of every command that names none with {@link Command#withWorkingDirectory},
     * instead of the image's {@code WorkingDir} (or {@code /}): an absolute path inside the environment. A
     * command whose working directory does not exist there exits with 125 and says so on stderr: unlike a
     * missing {@code WorkingDir} of the image, this directory is not made.
     *
     * @return the directory; empty for the enclosing annotation's, else the image's {@code WorkingDir}, else
     *     {@code /}
     */
    String workingDirectory() default "";

    /**
     * The user every command runs as that names none with {@link Command#withUser}, instead of the image's
     * {@code User} (or root), as {@code docker run --user} takes it: {@code "postgres"}, {@code "1000"},
     * {@code "postgres:postgres"}, {@code "1000:1000"}. Names are looked up in the environment's own
     * {@code /etc/passwd} and {@code /etc/group} at the first command (see
     * {@link IsolatedEnvironmentBuilder#user(String)}). Rootless, a non-zero id needs
     * {@link UserMapping#SUBIDS}.
     *
     * @return the user; empty for the enclosing annotation's, else the image's {@code User}, else root
     */
    String user() default "";

    /**
     * Whether a test whose environment this host cannot create (see {@link EnvironmentSetupException#hostCannot()})
     * is aborted, which JUnit reports as skipped, instead of failing. By default it fails, so that a
     * misconfigured CI runner is red; the configuration parameter {@value IsolatedConfiguration#SKIP_IF_UNSUPPORTED}
     * {@code =true} skips for every test.
     *
     * @return whether to skip instead of failing on a host that cannot create the environment
     */
    boolean skipIfUnsupported() default false;

    /**
     * Ports of the host's {@code 127.0.0.1} that the environment reaches as {@code host.isolated.internal:PORT}
     * from the start (see {@link IsolatedEnvironment#exposeHostPort(int)}; for a port known only at run time,
     * such as a server's on port 0, call that). An annotation that gives none takes its enclosing one's.
     *
     * @return the ports, 1..65535; none by default
     */
    int[] exposeHostPorts() default {};

    /**
     * How long one environment lives. Read from classes only: {@code PER_CLASS} on a method or parameter fails
     * the test.
     *
     * @return {@link Lifecycle#PER_METHOD} (default) or {@link Lifecycle#PER_CLASS}
     */
    Lifecycle lifecycle() default Lifecycle.PER_METHOD;

    /**
     * How long an environment lives.
     *
     * @since 0.1
     */
    @API(status = STABLE, since = "0.1")
    enum Lifecycle {
        /** A fresh environment for every test method invocation. */
        PER_METHOD,
        /** One environment for all test methods of the annotated class and its {@code @Nested} classes. */
        PER_CLASS
    }
}
