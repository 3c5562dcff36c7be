package dev.isolated.internal.image;

/**
 * The names of the configuration keys the image code reads or names in its messages. They are documented in one
 * place, {@code dev.isolated.IsolatedConfiguration} (whose constants are these, as the image module cannot depend
 * on the extension) and the README's Configuration table; this class is only where the strings are spelled.
 */
public final class SettingNames {

    /** The image cache's directory. */
    public static final String CACHE_DIR = "isolated.cache.dir";

    /** The most bytes the image cache keeps. */
    public static final String CACHE_MAX_BYTES = "isolated.cache.maxBytes";

    /** The most bytes of file content unpacking one image may write, and a pull may download. */
    public static final String IMAGE_MAX_BYTES = "isolated.image.maxBytes";

    /** The most archive entries of one image. */
    public static final String IMAGE_MAX_ENTRIES = "isolated.image.maxEntries";

    /** The platform an image pulled by name is for. */
    public static final String IMAGE_PLATFORM = "isolated.image.platform";

    /** When an image named by name is fetched from its registry. */
    public static final String PULL = "isolated.pull";

    /** The registries that may be reached over plain HTTP. */
    public static final String REGISTRY_INSECURE = "isolated.registry.insecure";

    /** The registry {@code docker.io} images are pulled from instead of Docker Hub. */
    public static final String REGISTRY_MIRROR = "isolated.registry.mirror";

    /** The user name sent to registries. */
    public static final String REGISTRY_USERNAME = "isolated.registry.username";

    /** The password or token for the user name. */
    public static final String REGISTRY_PASSWORD = "isolated.registry.password";

    private SettingNames() {}
}
