package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import dev.isolated.internal.image.SettingNames;
import org.apiguardian.api.API;

/**
 * The configuration parameters of Isolated, all in one place. Each is read as a JUnit configuration
 * parameter, so with JUnit's precedence: a parameter given to the launcher (e.g. by a build tool's
 * {@code configurationParameters}), then a JVM system property ({@code -Dkey=value}), then
 * {@code junit-platform.properties} on the test class path.
 *
 * <p>The per-JVM keys ({@link #HELPER_PATH}, {@link #HELPER_DIR}, {@link #CACHE_DIR}, {@link #CACHE_MAX_BYTES},
 * {@link #IMAGE_MAX_BYTES}, {@link #IMAGE_MAX_ENTRIES}) are read when the helper is started or the image cache
 * is first used, which is once per JVM: the configuration of the first environment made decides for the
 * JVM. Code that runs without a JUnit extension context ({@link IsolatedEnvironment#builder()} before any
 * {@code @Isolated} environment, {@link HostSupport#probe()}, {@code dev.isolated.image.ImageBuilder}) reads
 * them from system properties. The other keys apply, with JUnit's precedence, to {@code @Isolated} environments;
 * {@link IsolatedEnvironment#builder()} reads those that concern it (the timeouts, the writable layer keys, the pull
 * and registry keys) from system properties only, also within a test. {@link #ROOTFS} and {@link #NAMESPACES} are
 * defaults of the annotations and the rest concern the extension's tests: a builder never reads them (it needs a
 * {@code rootfs(...)} or {@code image(...)}, and its namespaces are {@link Isolated#namespaces()}'s default unless
 * given). Where an environment variable is named, it applies when the key is not set.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class IsolatedConfiguration {

    /** The rootfs of {@link Isolated} annotations that name none: {@value}. */
    public static final String ROOTFS = "isolated.rootfs";

    /**
     * The namespaces of {@link Isolated} annotations (and their enclosing ones) that keep the default,
     * comma-separated, e.g. {@code PID,MOUNT,UTS,IPC} (the default leaves out none of
     * {@code PID,MOUNT,UTS,IPC,NET,CGROUP}): {@value}.
     */
    public static final String NAMESPACES = "isolated.namespaces";

    /**
     * {@code true}: a test whose environment the host cannot create is aborted (reported as skipped) instead
     * of failing, as {@link Isolated#skipIfUnsupported()} does for one annotation; default {@code false}:
     * {@value}.
     */
    public static final String SKIP_IF_UNSUPPORTED = "isolated.skipIfUnsupported";

    /**
     * {@code true}: a failed test's writable layer is copied to disk (see {@link #KEEP_ON_FAILURE_DIR}), and the
     * failure's report says where: {@value}.
     */
    public static final String KEEP_ON_FAILURE = "isolated.keepOnFailure";

    /**
     * Where kept layers go, by default {@code target/isolated-failures} of the working directory (where it has no
     * {@code target} directory, {@code isolated-failures} in {@code java.io.tmpdir}, created {@code 0700} and used
     * only when it is a directory of this user's own; else nothing is kept and the failure's report says why):
     * {@value}.
     */
    public static final String KEEP_ON_FAILURE_DIR = "isolated.keepOnFailure.dir";

    /**
     * {@code false}: the extension makes no spare environments; by default ({@code true}), once two tests in a row
     * of a class get environments of the same settings (their hostnames aside), the next one is made in the
     * background while the test runs, and the class's next test of those settings takes it, renamed to its own
     * hostname; and from the second test of such a row on, environments are closed without their test waiting for
     * the answer (the class's next test waits for it before it starts): {@value}.
     */
    public static final String SPARE_ENVIRONMENTS = "isolated.spareEnvironments";

    /**
     * How long {@code exec} waits before stopping a command (SIGTERM to its process group, SIGKILL two seconds
     * later), e.g. {@code 500ms}, {@code 30s}, {@code 2m}; default 60 s: {@value}.
     */
    public static final String EXEC_TIMEOUT = "isolated.exec.timeout";

    /** How long the {@code await...} methods wait, e.g. {@code 30s}; default 30 s: {@value}. */
    public static final String AWAIT_TIMEOUT = "isolated.await.timeout";

    /**
     * How long a service started with {@link IsolatedEnvironment#startImageCommand(Wait, String...)} (or
     * {@link StartImageCommand}, or checked with {@link Wait#waitUntilReady(IsolatedEnvironment, IsolatedProcess)})
     * may take to be ready, e.g. {@code 2m}; default 60 s: {@value}.
     */
    public static final String STARTUP_TIMEOUT = "isolated.startup.timeout";

    /**
     * The most bytes of file content that unpacking one image may write (data the archive holds for an entry that is
     * not written, such as a device node's, counts too), and the most bytes a pulled image's layers may declare in
     * all; default 4 GiB (per JVM): {@value}.
     */
    public static final String IMAGE_MAX_BYTES = SettingNames.IMAGE_MAX_BYTES;

    /**
     * The platform an image pulled by name is for, as {@code linux/<architecture>[/<variant>]}, e.g.
     * {@code linux/arm64} or {@code linux/arm/v7}: a multi-platform image index resolves to its manifest, and a
     * single-platform image must be for it; default {@code linux} and this JVM's {@code os.arch}: {@value}.
     */
    public static final String IMAGE_PLATFORM = SettingNames.IMAGE_PLATFORM;

    /** The most archive entries of one image; default 1,000,000 (per JVM): {@value}. */
    public static final String IMAGE_MAX_ENTRIES = SettingNames.IMAGE_MAX_ENTRIES;

    /**
     * Where the bundled native helper is extracted (environment variable {@code ISOLATED_HELPER_DIR} when
     * unset); default {@code ~/.cache/isolated/helper}, or {@code $XDG_CACHE_HOME/isolated/helper} where
     * {@code XDG_CACHE_HOME} is set to an absolute path (per JVM): {@value}.
     */
    public static final String HELPER_DIR = "isolated.helper.dir";

    /** A helper executable to use instead of the bundled one (per JVM): {@value}. */
    public static final String HELPER_PATH = "isolated.helper.path";

    /**
     * Where images are unpacked (environment variable {@code ISOLATED_CACHE_DIR} when unset); default
     * {@code ~/.cache/isolated}, or {@code $XDG_CACHE_HOME/isolated} where {@code XDG_CACHE_HOME} is set to an
     * absolute path (per JVM): {@value}. It must belong to the user running the tests; it is
     * created, or made, 0700, so no other user can reach the unpacked images.
     */
    public static final String CACHE_DIR = SettingNames.CACHE_DIR;

    /**
     * The most bytes the image cache keeps, unpacked images, their layers and pulled blobs counted once each;
     * default 20 GiB, {@code 0} never prunes (per JVM): {@value}. Once per JVM, after the first image is ready,
     * a background thread removes least recently used images that no JVM is using until the rest fit, then
     * the layers and pulled blobs, layouts and tags no remaining image uses; skipped when nothing was stored in
     * the cache since a prune left it under this cap ({@code <cache>/last-prune} records what it left).
     */
    public static final String CACHE_MAX_BYTES = SettingNames.CACHE_MAX_BYTES;

    /**
     * When an image named by {@link Isolated#image()} is fetched from its registry: {@code missing} (default) only
     * when the store has no image for the name yet, {@code always} once per run for a tag (with {@code HEAD}
     * when the tag is stored; a digest never changes, so stored blobs are never fetched again), {@code never} only from the store, offline: {@value}.
     */
    public static final String PULL = SettingNames.PULL;

    /**
     * The registries, comma-separated {@code host[:port]}, that may be reached over plain HTTP instead of HTTPS,
     * e.g. {@code 127.0.0.1:5000,localhost:5001}; default none: {@value}.
     */
    public static final String REGISTRY_INSECURE = SettingNames.REGISTRY_INSECURE;

    /**
     * A registry to pull {@code docker.io} images from instead of Docker Hub, as {@code https://host[:port]} (or
     * {@code http://} for a registry listed in {@link #REGISTRY_INSECURE}); {@code docker.io} itself is then
     * never contacted: {@value}.
     */
    public static final String REGISTRY_MIRROR = SettingNames.REGISTRY_MIRROR;

    /**
     * The user name sent to registries that ask for credentials (environment variable
     * {@code ISOLATED_REGISTRY_USERNAME} when unset); used before any Docker credentials: {@value}.
     */
    public static final String REGISTRY_USERNAME = SettingNames.REGISTRY_USERNAME;

    /**
     * The password or token for {@link #REGISTRY_USERNAME} (environment variable {@code ISOLATED_REGISTRY_PASSWORD}
     * when unset): {@value}.
     */
    public static final String REGISTRY_PASSWORD = SettingNames.REGISTRY_PASSWORD;

    /**
     * The share of the test classes this run keeps, as {@code INDEX/TOTAL} with shards numbered from 1, e.g.
     * {@code 2/8}; {@code 1/1} keeps everything even where CI variables would split the suite. When unset: with
     * {@link #SHARD_TOTAL}, a Kubernetes indexed Job's {@code JOB_COMPLETION_INDEX}; else GitLab's
     * {@code CI_NODE_INDEX} and {@code CI_NODE_TOTAL} of a {@code parallel: N} job; else no sharding: {@value}.
     */
    public static final String SHARD = "isolated.shard";

    /**
     * The number of shards in a Kubernetes indexed Job (its {@code completions}): the run keeps shard
     * {@code JOB_COMPLETION_INDEX + 1} of this many: {@value}.
     */
    public static final String SHARD_TOTAL = "isolated.shard.total";

    /**
     * Surefire XML reports of an earlier run (a directory searched for {@code TEST-*.xml}, or one report) whose
     * classes' times balance the shards; without it, classes are assigned by a hash of their name: {@value}.
     */
    public static final String SHARD_TIMINGS = "isolated.shard.timings";

    /**
     * Where an environment's writable layer lives unless its {@link WritableLayer} or builder says:
     * {@code tmpfs} (default) or {@code disk} (see {@link LayerStorage}): {@value}.
     */
    public static final String LAYER_STORAGE = "isolated.layer.storage";

    /**
     * The size of an environment's tmpfs writable layer unless its {@link WritableLayer} or builder says: bytes
     * with an optional {@code k}, {@code m} or {@code g} suffix, or a percentage of RAM; default {@code 50%}
     * (the kernel's own default for a tmpfs): {@value}.
     */
    public static final String LAYER_TMPFS_SIZE = "isolated.layer.tmpfsSize";

    /**
     * Where disk-backed writable layers and frozen states are kept, in a directory per JVM; default {@code writable} in the image
     * cache directory ({@link #CACHE_DIR}). It must belong to the user running the tests; it is created, or made,
     * 0700: {@value}.
     */
    public static final String LAYER_DIR = "isolated.layer.dir";

    private IsolatedConfiguration() {}
}
