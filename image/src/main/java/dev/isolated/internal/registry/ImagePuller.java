package dev.isolated.internal.registry;

import dev.isolated.internal.image.CacheDirectory;
import dev.isolated.internal.image.OwnDirectory;
import dev.isolated.internal.image.PruneRecord;
import dev.isolated.internal.image.SettingNames;
import dev.isolated.internal.image.UnpackLimits;
import dev.isolated.internal.json.JsonException;
import dev.isolated.internal.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Pulls an image by name into the image store and lays it out as an OCI image layout for the existing
 * unpacking path. Steps: the tag is resolved to a manifest digest (once per run; with
 * {@code isolated.pull=missing} or {@code never} from {@code <cache>/refs/<registry>/<repository>/<tag>} when
 * recorded), an image index is followed to the entry for linux and this JVM's architecture (or the platform of
 * {@code isolated.image.platform}), and the
 * manifest, config and layers are fetched by digest into {@link BlobStore} unless stored (an image whose layers
 * declare more bytes in all than {@code isolated.image.maxBytes} is refused before any is). The result is
 * {@code <cache>/layouts/<manifest hex>/}: {@code oci-layout}, an {@code index.json} naming that one manifest,
 * and {@code blobs/sha256/} hard links to the stored blobs.
 */
public final class ImagePuller {

    private static final Logger LOG = Logger.getLogger(ImagePuller.class.getName());

    /** Tag → digest, resolved once per run (per JVM). */
    private static final ConcurrentMap<String, String> RESOLVED = new ConcurrentHashMap<>();

    private static final ConcurrentMap<String, Object> RESOLVING = new ConcurrentHashMap<>();

    /** The most bytes an image config may have. */
    static final int MAX_CONFIG_BYTES = 16 * 1024 * 1024;

    private static final int MAX_NESTING = 4;
    private static final long PROGRESS_AFTER_NANOS = 1_000_000_000L;
    /** The most blobs of one image downloaded at once. */
    static final int PARALLEL_DOWNLOADS = 3;

    private static final java.util.regex.Pattern MEDIA_TYPE =
            java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9.+_/-]{0,254}");

    private final Path root;
    private final BlobStore store;
    private final PullSettings settings;
    private final long maxImageBytes;
    private final Duration stallTimeout;
    private volatile boolean ownershipChecked;

    /**
     * With the default {@code isolated.image.maxBytes}, {@link UnpackLimits#DEFAULT_MAX_TOTAL_BYTES}.
     *
     * @param cacheRoot the image cache's directory ({@code isolated.cache.dir})
     * @param settings the pull configuration
     */
    public ImagePuller(Path cacheRoot, PullSettings settings) {
        this(cacheRoot, settings, UnpackLimits.DEFAULT_MAX_TOTAL_BYTES);
    }

    /**
     * @param cacheRoot the image cache's directory ({@code isolated.cache.dir})
     * @param settings the pull configuration
     * @param maxImageBytes {@code isolated.image.maxBytes}: an image whose layers' declared sizes add up to more is
     *     refused before any layer is downloaded
     */
    public ImagePuller(Path cacheRoot, PullSettings settings, long maxImageBytes) {
        this(cacheRoot, settings, maxImageBytes, RegistryClient.STALL_TIMEOUT);
    }

    /** With a response body's stall timeout other than {@link RegistryClient#STALL_TIMEOUT} (for testing purposes). */
    ImagePuller(Path cacheRoot, PullSettings settings, long maxImageBytes, Duration stallTimeout) {
        this.root = cacheRoot.toAbsolutePath();
        this.store = new BlobStore(root);
        this.settings = settings;
        this.maxImageBytes = maxImageBytes;
        this.stallTimeout = stallTimeout;
    }

    /** Forgets this run's tag resolutions (for testing purposes). */
    public static void forgetResolvedTags() {
        RESOLVED.clear();
    }

    /**
     * The image named {@code name}, pulled as {@code isolated.pull} says, as an OCI layout directory that
     * holds exactly the manifest for this platform.
     *
     * @throws IllegalArgumentException if {@code name} is not an image name
     * @throws ImagePullException naming the image and the cause
     */
    public Path pull(String name) {
        ImageName image = ImageName.parse(name);
        Session session = new Session(image);
        try {
            requireOwnStore();
            return session.run();
        } catch (RegistryClient.RegistryIoException e) {
            throw new ImagePullException(
                    "Image " + name + ": " + e.getMessage()
                            + (settings.policy() == PullSettings.Policy.ALWAYS
                                    ? "; with " + SettingNames.PULL
                                            + "=missing (the default) an image already stored is used without the registry"
                                    : ""),
                    e.getCause());
        } catch (IOException e) {
            throw storeFailure("Image " + name + ": cannot write the image store " + root, e);
        }
    }

    /**
     * A failure to write the image store (a full disk, a directory made read-only), as the image cache words its
     * own: {@code <what>: <the IOException>. Make room there or make the directory writable, or choose another
     * one with -Disolated.cache.dir=DIR or ISOLATED_CACHE_DIR=DIR}.
     */
    static ImagePullException storeFailure(String what, IOException e) {
        return new ImagePullException(what + ": " + e + ". " + CacheDirectory.WRITE_FIX, e);
    }

    /**
     * The store's directories must be this user's and private (0700), as the image cache's are: blobs found there
     * are used without downloading them again, and a private image's blobs are nobody else's business.
     */
    private void requireOwnStore() throws IOException {
        if (ownershipChecked) {
            return;
        }
        OwnDirectory.requirePrivate(OwnDirectory.createPrivate(root), "the image cache", "-D" + SettingNames.CACHE_DIR);
        for (String directory : List.of("blobs", "blobs/sha256", "blobs/locks", "refs", "layouts")) {
            OwnDirectory.requirePrivate(
                    OwnDirectory.createPrivate(root.resolve(directory)),
                    "the image cache",
                    "-D" + SettingNames.CACHE_DIR);
        }
        ownershipChecked = true;
    }

    /** One pull of one image. */
    private final class Session {
        private final ImageName image;
        private final String label;
        private RegistryClient client;
        private String registryLabel;
        private final ImagePlatform wanted = settings.platform();
        private final String platform = wanted.toString();
        private final long started = System.nanoTime();
        private long bytesDone;
        private long bytesTotal;
        private int blobsDone;
        private int blobsTotal;
        private long lastReport;
        private boolean fetched;

        Session(ImageName image) {
            this.image = image;
            this.label = image.original();
        }

        Path run() throws IOException {
            String digest = image.digest() != null ? image.digest() : resolveTag();
            Manifest manifest = manifest(digest, -1, "manifest");
            for (int depth = 0; manifest.isIndex(); depth++) {
                if (depth >= MAX_NESTING) {
                    throw fail("image indexes nested deeper than " + MAX_NESTING);
                }
                Entry chosen = choose(manifest);
                manifest = manifest(chosen.digest(), chosen.size(), "manifest for " + platform);
            }
            JsonObject json = manifest.json();
            Entry config;
            List<JsonObject> layerObjects;
            try {
                config = Entry.read(json.object("config"), label);
                layerObjects = json.objects("layers");
            } catch (JsonException e) {
                throw fail("its manifest " + manifest.digest() + " is not valid: " + e.getMessage());
            }
            List<Entry> layers = new ArrayList<>();
            for (JsonObject layer : layerObjects) {
                Entry entry = Entry.read(layer, label);
                if (entry.foreign()) {
                    throw fail("layer " + entry.digest() + " is a foreign (non-distributable) layer with 'urls'; "
                            + "Isolated fetches only from the registry and refuses it");
                }
                layers.add(entry);
            }
            long declared = 0;
            for (Entry layer : layers) {
                try {
                    declared = Math.addExact(declared, Math.max(layer.size(), 0));
                } catch (ArithmeticException e) {
                    declared = Long.MAX_VALUE;
                }
            }
            if (declared > maxImageBytes) {
                throw fail("its layers declare " + declared + " bytes in all, more than the " + maxImageBytes
                        + " bytes "
                        + SettingNames.IMAGE_MAX_BYTES
                        + " allows an image; no layer was downloaded. If the image "
                        + "is trusted, raise the limit with -D" + SettingNames.IMAGE_MAX_BYTES + "=BYTES");
            }
            List<Entry> missing = new ArrayList<>();
            if (!store.has(config.digest())) {
                missing.add(config);
            }
            layers.stream().filter(l -> !store.has(l.digest())).forEach(missing::add);
            if (!missing.isEmpty() && settings.policy() == PullSettings.Policy.NEVER) {
                throw fail("blob " + missing.get(0).digest() + " is not in the image store "
                        + store.path(missing.get(0).digest()).getParent() + " and " + SettingNames.PULL
                        + "=never forbids fetching it; pull it once with "
                        + SettingNames.PULL + "=missing");
            }
            blobsTotal = missing.size();
            bytesTotal = missing.stream().mapToLong(Entry::size).sum();
            if (config.size() > MAX_CONFIG_BYTES) {
                throw fail("its config has " + config.size() + " bytes, more than the " + MAX_CONFIG_BYTES
                        + " a config may have");
            }
            fetch(config, "config");
            checkConfig(config, layers.size());
            fetchLayers(layers);
            Manifest pulled = manifest;
            if (fetched) {
                long millis = (System.nanoTime() - started) / 1_000_000;
                Level level = millis >= 1000 ? Level.INFO : Level.FINE;
                // The digest the name resolved to (an index's, for a multi-platform image): the one to pin by, as
                // recorded in refs/; the platform's manifest after it when that is another.
                LOG.log(
                        level,
                        () -> "Pulled " + label + " (" + digest + ") from " + registryLabel + ": " + blobsDone
                                + " blobs, " + mib(bytesDone) + " MiB in " + millis + " ms"
                                + (digest.equals(pulled.digest())
                                        ? ""
                                        : "; its manifest for " + platform + " is " + pulled.digest()));
            }
            return layout(manifest, config, layers);
        }

        /** The tag's digest: from this run, from the store's refs, or from the registry, as the policy says. */
        private String resolveTag() throws IOException {
            String key = image.registry() + "/" + image.repository() + ":" + image.tag();
            String known = RESOLVED.get(key);
            if (known != null) {
                return known;
            }
            synchronized (RESOLVING.computeIfAbsent(key, k -> new Object())) {
                known = RESOLVED.get(key);
                if (known != null) {
                    return known;
                }
                Path ref = root.resolve("refs")
                        .resolve(image.registry())
                        .resolve(image.repository())
                        .resolve(image.tag());
                String stored = readRef(ref);
                String digest;
                switch (settings.policy()) {
                    case NEVER -> {
                        if (stored == null) {
                            throw fail("it is not in the image store (no " + ref + ") and " + SettingNames.PULL
                                    + "=never forbids fetching it; pull it once with " + SettingNames.PULL
                                    + "=missing (the default)");
                        }
                        digest = stored;
                    }
                    case MISSING -> digest = stored != null && store.has(stored) ? stored : fetchTag(ref);
                    default ->
                        digest = stored != null && store.has(stored) && stored.equals(client().headDigest(image.tag()))
                                ? stored
                                : fetchTag(ref);
                }
                RESOLVED.put(key, digest);
                return digest;
            }
        }

        private String fetchTag(Path ref) throws IOException {
            RegistryClient.Manifest fetchedManifest = client().manifest(image.tag(), "manifest");
            store.put(
                    fetchedManifest.digest(),
                    fetchedManifest.bytes(),
                    "Image " + label + ": manifest " + fetchedManifest.digest());
            PruneRecord.storing(root);
            Files.createDirectories(ref.getParent());
            // ".<tag>.<random>.tmp": no tag starts with a dot, so one a killed JVM left is never taken for a tag, and
            // pruning removes it (CachePruner)
            Path temporary = Files.createTempFile(ref.getParent(), "." + ref.getFileName() + ".", ".tmp");
            Files.writeString(temporary, fetchedManifest.digest() + "\n" + Instant.now() + "\n");
            Files.move(temporary, ref, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            PruneRecord.storing(root);
            LOG.fine(() -> "Image " + label + ": tag " + image.tag() + " is " + fetchedManifest.digest());
            return fetchedManifest.digest();
        }

        private String readRef(Path ref) throws IOException {
            try {
                String text = Files.readString(ref, StandardCharsets.UTF_8);
                String digest = text.lines().findFirst().orElse("").trim();
                return digest.matches("sha256:[0-9a-f]{64}") ? digest : null;
            } catch (NoSuchFileException e) {
                return null;
            }
        }

        /** A manifest or index by digest, from the store or the registry. */
        private Manifest manifest(String digest, long size, String what) throws IOException {
            byte[] bytes;
            String type = null;
            if (store.has(digest)) {
                bytes = Files.readAllBytes(store.path(digest));
            } else if (settings.policy() == PullSettings.Policy.NEVER) {
                throw fail("its " + what + " " + digest + " is not in the image store and " + SettingNames.PULL
                        + "=never forbids fetching it; pull it once with " + SettingNames.PULL + "=missing");
            } else {
                RegistryClient.Manifest received = client().manifest(digest, what);
                bytes = received.bytes();
                type = received.mediaType();
                if (size >= 0 && bytes.length != size) {
                    throw fail("its " + what + " " + digest + " has " + bytes.length + " bytes, its descriptor says "
                            + size + "; nothing was stored");
                }
                store.put(digest, bytes, "Image " + label + ": " + what + " " + digest);
            }
            if (!digest.equals("sha256:" + Digests.sha256Hex(bytes))) {
                throw fail("the stored " + what + " " + store.path(digest)
                        + " does not match its digest; delete it to pull it again");
            }
            JsonObject json;
            try {
                json = JsonObject.parse(
                        new String(bytes, StandardCharsets.UTF_8), what + " " + digest + " of image " + label);
            } catch (JsonException e) {
                throw fail("its " + what + " " + digest + " is not valid: " + e.getMessage());
            }
            String bodyType;
            try {
                bodyType = json.optionalString("mediaType");
            } catch (JsonException e) {
                throw fail("its " + what + " " + digest + " is not valid: " + e.getMessage());
            }
            if (bodyType != null && !MEDIA_TYPE.matcher(bodyType).matches()) {
                throw fail("its " + what + " " + digest + " has the media type '" + bodyType + "', which is not one");
            }
            if (type != null && !type.isEmpty() && bodyType != null && !bodyType.equals(type)) {
                throw fail("its " + what + " " + digest + " says it is " + bodyType + " but was served as " + type);
            }
            if (json.has("schemaVersion")
                    && json.members().get("schemaVersion") instanceof Number version
                    && version.intValue() == 1) {
                throw fail(
                        "it is a Docker schema 1 manifest, a format deprecated since 2017 that Isolated does not read");
            }
            String mediaType = bodyType != null
                    ? bodyType
                    : type == null || !MEDIA_TYPE.matcher(type).matches() ? "" : type;
            return new Manifest(digest, bytes, mediaType, json);
        }

        /**
         * The index entry for the platform (linux and this JVM's architecture, or {@code isolated.image.platform}'s):
         * with a variant asked for, the first entry of that variant; else the first without a variant, else the first;
         * when no entry names the platform, the first entry that names none (a nested index, or a manifest whose
         * config {@link #checkConfig} then checks).
         */
        private Entry choose(Manifest index) {
            List<Entry> entries;
            try {
                entries = index.json().objects("manifests").stream()
                        .map(m -> Entry.read(m, label))
                        .filter(e -> !e.attestation())
                        .toList();
            } catch (JsonException e) {
                throw fail("its image index " + index.digest() + " is not valid: " + e.getMessage());
            }
            List<Entry> matching = entries.stream()
                    .filter(e -> e.os().equals("linux")
                            && e.architecture().equals(wanted.architecture())
                            && (wanted.variant().isEmpty() || e.variant().equals(wanted.variant())))
                    .toList();
            if (matching.isEmpty()) {
                // An entry naming no platform (a nested index's, often) may be for any: its config says (checkConfig).
                matching = entries.stream().filter(e -> e.os().isEmpty()).toList();
            }
            if (matching.isEmpty()) {
                throw fail("no manifest for " + platform + " in its image index " + index.digest() + "; it has: "
                        + (entries.isEmpty()
                                ? "none"
                                : entries.stream().map(Entry::platform).collect(Collectors.joining(", "))));
            }
            return matching.stream()
                    .filter(e -> e.variant().isEmpty())
                    .findFirst()
                    .orElse(matching.get(0));
        }

        /** Checks the config's rootfs and platform against the manifest and this host. */
        private void checkConfig(Entry configEntry, int layers) throws IOException {
            JsonObject config;
            try {
                config = JsonObject.parse(
                        Files.readString(store.path(configEntry.digest()), StandardCharsets.UTF_8),
                        "config " + configEntry.digest() + " of image " + label);
                JsonObject rootfs = config.optionalObject("rootfs");
                if (rootfs != null
                        && rootfs.has("diff_ids")
                        && rootfs.optionalStrings("diff_ids").size() != layers) {
                    throw fail("its config lists "
                            + rootfs.optionalStrings("diff_ids").size() + " layer diff_ids but its " + "manifest "
                            + layers + " layers");
                }
            } catch (JsonException e) {
                throw fail("its config " + configEntry.digest() + " is not valid: " + e.getMessage());
            }
            String os = config.optionalString("os");
            String architecture = config.optionalString("architecture");
            if (architecture != null
                    && !architecture.isEmpty()
                    && (!normalize(architecture).equals(wanted.architecture())
                            || (os != null && !os.equals("linux")))) {
                throw fail("it is an image for " + (os == null ? "?" : os) + "/" + architecture + ", and this is "
                        + platform + "; no manifest for " + platform);
            }
        }

        /** Downloads the layers the store lacks, up to {@value #PARALLEL_DOWNLOADS} at once. */
        private void fetchLayers(List<Entry> layers) {
            List<Integer> missing = new ArrayList<>();
            for (int i = 0; i < layers.size(); i++) {
                if (!store.has(layers.get(i).digest())) {
                    missing.add(i);
                }
            }
            if (missing.size() <= 1) {
                missing.forEach(i -> fetch(layers.get(i), "layer " + (i + 1) + " of " + layers.size()));
                return;
            }
            registryLabel(); // the client, made once before the threads share it
            ExecutorService pool =
                    Executors.newFixedThreadPool(Math.min(PARALLEL_DOWNLOADS, missing.size()), runnable -> {
                        Thread thread = new Thread(runnable, "isolated-pull " + label);
                        thread.setDaemon(true);
                        return thread;
                    });
            try {
                List<Future<?>> downloads = new ArrayList<>();
                for (int i : missing) {
                    downloads.add(pool.submit(() -> fetch(layers.get(i), "layer " + (i + 1) + " of " + layers.size())));
                }
                for (Future<?> download : downloads) {
                    try {
                        download.get();
                    } catch (ExecutionException e) {
                        downloads.forEach(other -> other.cancel(true));
                        if (e.getCause() instanceof RuntimeException runtime) {
                            throw runtime;
                        }
                        if (e.getCause() instanceof Error error) {
                            throw error;
                        }
                        throw new ImagePullException(
                                "Image " + label + ": a download failed: " + e.getCause(), e.getCause());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new ImagePullException("Image " + label + ": interrupted while pulling", e);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }

        private void fetch(Entry blob, String what) {
            if (store.has(blob.digest())) {
                return;
            }
            if (blob.size() < 0) {
                throw fail("its " + what + " " + blob.digest() + " has no size in the manifest");
            }
            String blobLabel = "Image " + label + ": blob " + blob.digest() + " (" + what + ") from " + registryLabel();
            store.fetch(
                    blob.digest(),
                    blob.size(),
                    blobLabel,
                    offset -> client().blob(blob.digest(), offset, what),
                    this::progress);
            synchronized (this) {
                fetched = true;
                blobsDone++;
            }
        }

        private synchronized void progress(long bytes) {
            bytesDone += bytes;
            long now = System.nanoTime();
            if (now - started >= PROGRESS_AFTER_NANOS && now - lastReport >= PROGRESS_AFTER_NANOS) {
                lastReport = now;
                LOG.info(() -> "Pulling " + label + " from " + registryLabel + ": " + mib(bytesDone) + " of "
                        + mib(bytesTotal) + " MiB, " + blobsDone + " of " + blobsTotal + " blobs done");
            }
        }

        private Path layout(Manifest manifest, Entry config, List<Entry> layers) throws IOException {
            String hex = manifest.digest().substring("sha256:".length());
            Path layouts = root.resolve("layouts");
            Path directory = layouts.resolve(hex);
            if (Files.isRegularFile(directory.resolve("index.json"), LinkOption.NOFOLLOW_LINKS)) {
                return directory;
            }
            PruneRecord.storing(root); // a prune that ran meanwhile may not have seen this layout: see PruneRecord
            Files.createDirectories(layouts);
            Path temporary = Files.createTempDirectory(layouts, hex + ".tmp-");
            try {
                Path blobs = Files.createDirectories(temporary.resolve("blobs").resolve("sha256"));
                List<String> digests = new ArrayList<>(List.of(manifest.digest(), config.digest()));
                layers.forEach(layer -> digests.add(layer.digest()));
                for (String digest : digests.stream().distinct().toList()) {
                    Files.createLink(blobs.resolve(digest.substring("sha256:".length())), store.path(digest));
                }
                Files.writeString(temporary.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
                Files.writeString(
                        temporary.resolve("index.json"),
                        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\""
                                + manifest.mediaType() + "\",\"digest\":\"" + manifest.digest() + "\",\"size\":"
                                + manifest.bytes().length + "}]}");
                try {
                    Files.move(temporary, directory, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileSystemException e) {
                    if (!Files.isRegularFile(directory.resolve("index.json"), LinkOption.NOFOLLOW_LINKS)) {
                        throw e;
                    }
                    // another JVM laid it out first: the same content
                }
            } finally {
                try {
                    deleteTree(temporary);
                } finally {
                    PruneRecord.storing(root);
                }
            }
            return directory;
        }

        private RegistryClient client() {
            if (client == null) {
                URI base;
                String credentialsHost;
                if (image.registry().equals(ImageName.DOCKER_HUB) && settings.mirror() != null) {
                    base = URI.create(settings.mirror());
                    registryLabel = "the mirror " + settings.mirror() + " (" + SettingNames.REGISTRY_MIRROR + ")";
                    credentialsHost = RegistryClient.hostAndPort(base);
                } else if (image.registry().equals(ImageName.DOCKER_HUB)) {
                    base = URI.create("https://registry-1.docker.io");
                    registryLabel = ImageName.DOCKER_HUB;
                    credentialsHost = ImageName.DOCKER_HUB;
                } else {
                    base = URI.create(
                            (settings.allowsHttp(image.registry()) ? "http://" : "https://") + image.registry());
                    registryLabel = image.registry();
                    credentialsHost = image.registry();
                }
                Credentials credentials;
                try {
                    credentials = Credentials.lookup(credentialsHost, settings);
                } catch (ImagePullException e) { // a Docker config or credential helper that fails: name the image
                    String why = e.getMessage();
                    throw new ImagePullException(
                            "Image " + label + ": " + Character.toLowerCase(why.charAt(0)) + why.substring(1), e);
                }
                RegistryClient created = new RegistryClient(
                        label, registryLabel, base, image.repository(), settings, credentials, stallTimeout);
                created.checkAllowed(base, registryLabel);
                client = created;
            }
            return client;
        }

        private String registryLabel() {
            client();
            return registryLabel;
        }

        private ImagePullException fail(String why) {
            return new ImagePullException("Image " + label + ": " + why);
        }
    }

    /** A manifest or index with its digest and parsed JSON. */
    private record Manifest(String digest, byte[] bytes, String mediaType, JsonObject json) {
        boolean isIndex() {
            return mediaType.equals("application/vnd.oci.image.index.v1+json")
                    || mediaType.equals("application/vnd.docker.distribution.manifest.list.v2+json")
                    || (json.has("manifests") && !json.has("layers"));
        }
    }

    /** A descriptor, with an index entry's platform. */
    private record Entry(
            String digest,
            long size,
            String os,
            String architecture,
            String variant,
            boolean attestation,
            boolean foreign) {

        static Entry read(JsonObject json, String image) {
            try {
                String digest = json.string("digest");
                if (!digest.matches("sha256:[0-9a-f]{64}")) {
                    throw new ImagePullException("Image " + image + ": " + json.source() + " has the digest '" + digest
                            + "'; only sha256:<64 hex digits> is supported");
                }
                JsonObject platform = json.optionalObject("platform");
                // No platform: os and architecture empty, as any platform's (see choose)
                String os = platform == null ? "" : nonNull(platform.optionalString("os"));
                String architecture =
                        platform == null ? "" : normalize(nonNull(platform.optionalString("architecture")));
                String variant = platform == null ? "" : nonNull(platform.optionalString("variant"));
                if (architecture.equals("arm64") && (variant.equals("v8") || variant.equals("8"))) {
                    variant = "";
                }
                boolean attestation = "attestation-manifest"
                                .equals(json.stringMap("annotations").get("vnd.docker.reference.type"))
                        || (os.equals("unknown") && architecture.equals("unknown"));
                boolean foreign =
                        json.has("urls") && !json.optionalStrings("urls").isEmpty();
                return new Entry(
                        digest,
                        json.has("size") ? json.integer("size") : -1,
                        os,
                        architecture,
                        variant,
                        attestation,
                        foreign);
            } catch (JsonException e) {
                throw new ImagePullException("Image " + image + ": a descriptor is not valid: " + e.getMessage(), e);
            }
        }

        String platform() {
            if (os.isEmpty() && architecture.isEmpty()) {
                return "no platform";
            }
            return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
        }
    }

    private static String normalize(String architecture) {
        return switch (architecture.toLowerCase(Locale.ROOT)) {
            case "x86_64", "x86-64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> architecture.toLowerCase(Locale.ROOT);
        };
    }

    private static String nonNull(String value) {
        return value == null ? "" : value;
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0));
    }

    private static void deleteTree(Path directory) throws IOException {
        if (!Files.exists(directory, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
