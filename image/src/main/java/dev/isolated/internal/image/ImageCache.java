package dev.isolated.internal.image;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.json.JsonException;
import dev.isolated.internal.json.JsonObject;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.DigestInputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Unpacks each image once per content and keeps it for later runs, as
 * {@code <cacheDir>/images/<key>/rootfs}. The key is the SHA-256 of the archive's bytes (of the
 * archive's digest and the chosen tag, when one is given; of {@code index.json} and
 * {@code manifest.json} for an image layout directory). Next to {@code rootfs}, {@code config.json}
 * holds the image's run defaults ({@link ImageConfig}), {@code last-used} is touched on every use, and the
 * {@code complete} marker, written last, names the layers ({@code layer=}) and pulled layout
 * ({@code layout=}) the image was made from.
 *
 * <h2>Layers</h2>
 * A plain rootfs tar is unpacked straight into {@code rootfs}. A layered image (docker save, docker-archive,
 * OCI archive or layout, pulled image) has each layer stored once in the {@link LayerStore},
 * {@code <cacheDir>/layers/<diff_id hex>/}, whatever format brought it; its {@code rootfs} is then merged from
 * the stored layers with hard links ({@link LayerMerger}), so file content is stored once however many images
 * share a layer, and the rootfs is one directory, as cheap to start from as a plain one. The layers not stored
 * yet are unpacked at once, as many as {@link #parallelism()}, each on a thread of its own: the caller's, or a
 * daemon thread started for the unpack that ends with it. When one fails, the others stop, what they half wrote is
 * deleted, and its failure is the one thrown.
 *
 * <h2>Privacy</h2>
 * The cache's root, {@code images/} and each {@code <key>} directory are created 0700 (whatever the umask)
 * and must belong to the user; on first use in an instance the root and {@code images/} are checked
 * ({@link OwnDirectory#requirePrivate}) and, like each entry handed out, made exactly 0700 if they are not
 * (as an older version left them). So no other local user can reach an unpacked image, whose files keep
 * their set-uid and set-gid bits when unpacked as root, wherever the cache is ({@code /tmp} too), as long
 * as no other user may rename entries of the directories above it (not checked). {@code layers/} and each
 * layer are created 0700 too.
 *
 * <p>The rootfs is meant to be used read-only, as an overlayfs lower layer: its files are shared with the
 * layer store and other images. A directory that is not an image layout is used as it is, without a cache
 * entry. An archive or directory is an image layout when it holds {@code manifest.json}, {@code index.json}
 * or {@code oci-layout} at its top (see {@link LayoutDirectory#isLayout(Path)}); an archive is unpacked once,
 * and what lands at its top decides.
 *
 * <h2>Concurrency</h2>
 * Safe with several threads and several JVMs (Surefire forks) at once, and with copies of this library loaded
 * by different class loaders of one JVM, which lock as different JVMs do ({@link CacheLock}). Within a copy, one
 * thread unpacks a key while the others wait for its result. Across JVMs, the unpacking thread holds the
 * {@link CacheLock} of {@code <key>.lock} (never deleted, so every process locks the same inode) exclusive.
 * It unpacks into a temporary directory next to {@code rootfs}, renames it into place
 * atomically, then writes the {@code complete} marker; a {@code rootfs} without the marker is stale
 * (a crash) and is rebuilt. A failed unpack deletes everything it wrote. A JVM that hands out an entry
 * holds its lock shared for the rest of its life; {@link #prune} takes it exclusive with a try-lock and
 * skips entries that are held, in this JVM or another.
 *
 * <h2>Pruning</h2>
 * {@link #prune} removes least recently used entries beyond a size or an age, then the layers, pulled layouts,
 * blobs and tags no remaining entry uses ({@link CachePruner}); {@link #pruneAutomatically} does it once per
 * JVM in the background ({@link SettingNames#CACHE_MAX_BYTES}), unless the last prune left the cache under the
 * cap and nothing was stored since ({@link PruneRecord}).
 *
 * <h2>Progress</h2>
 * An unpack longer than a second reports bytes and layers at {@code INFO} about once a second
 * ({@link UnpackProgress}).
 *
 * <h2>Digests</h2>
 * An archive's digest is remembered per version of its file (device, inode, size, mtime, ctime; see
 * {@link ArchiveDigests}), in memory and in small index files under {@code <cacheDir>/image-digests/}, so a big archive
 * is hashed once, not on every run.
 */
public final class ImageCache {

    /** Holds only the keys being unpacked right now, keyed by lock file. */
    private static final ConcurrentMap<Path, CompletableFuture<Path>> IN_FLIGHT = new ConcurrentHashMap<>();

    /**
     * Entries this JVM has handed out, each with one shared hold of its {@link CacheLock} for the rest of the
     * JVM's life; {@link #prune} in any JVM skips them.
     */
    private static final ConcurrentMap<Path, CacheLock> HANDED_OUT = new ConcurrentHashMap<>();

    /** Whether this JVM has started its automatic prune ({@link #pruneAutomatically}). */
    private static final AtomicBoolean AUTOMATIC_PRUNE_STARTED = new AtomicBoolean();

    private static final Logger LOG = Logger.getLogger(ImageCache.class.getName());

    private static final String ROOTFS = "rootfs";
    private static final String MARKER = "complete";
    private static final String CONFIG = "config.json";
    private static final String LAST_USED = "last-used";
    /** A line of the marker naming a stored layer the rootfs was merged from. */
    static final String LAYER_LINE = "layer=";
    /** A line of the marker naming the pulled layout the image came from. */
    static final String LAYOUT_LINE = "layout=";

    private static final Duration FOREVER = Duration.ofDays(365L * 1000);
    /**
     * The most layers of one image unpacked at once, whatever the processors: each takes a thread writing and one
     * decompressing, and the disk is shared.
     */
    static final int MAX_PARALLEL_LAYERS = 4;
    /** Entry directories are created 0700 (the umask can only narrow it): never open to others, not for a moment. */
    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

    private final Path root;
    private final Path imagesDirectory;
    private volatile boolean ownershipChecked; // root and images/ are this user's and 0700 (OwnDirectory)
    private final SafeTarUnpacker unpacker;
    private final Consumer<String> notes;
    private final ArchiveDigests digests;
    private final LayerStore layers;
    private volatile long automaticPruneBytes;
    private volatile int layerParallelism = parallelism();
    private volatile Function<String, UnpackProgress> progressFactory = UnpackProgress::new;

    /**
     * @param cacheDirectory the cache's root; created when first needed
     * @param unpacker unpacks archives
     * @param notes receives what each unpack reports (one line per unpack, plus skipped entries)
     */
    public ImageCache(Path cacheDirectory, SafeTarUnpacker unpacker, Consumer<String> notes) {
        Path root = cacheDirectory.toAbsolutePath();
        this.root = root;
        this.imagesDirectory = root.resolve("images");
        this.unpacker = unpacker;
        this.notes = notes;
        this.digests = new ArchiveDigests(root.resolve("image-digests"));
        this.layers = new LayerStore(root);
    }

    /**
     * Prunes the cache down to {@code maxBytes} ({@link SettingNames#CACHE_MAX_BYTES}) once per JVM, in a
     * background thread, after this cache first hands out an image, unless the last prune left it under
     * {@code maxBytes} and nothing was stored since ({@link PruneRecord}); 0 never prunes.
     *
     * @return this cache
     */
    public ImageCache pruneAutomatically(long maxBytes) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("The cache size cap must not be negative, got " + maxBytes);
        }
        this.automaticPruneBytes = maxBytes;
        return this;
    }

    /**
     * Unpacks at most {@code layers} layers of an image at once, instead of {@link #parallelism()} (for testing
     * purposes).
     *
     * @return this cache
     */
    ImageCache layerParallelism(int layers) {
        if (layers < 1) {
            throw new IllegalArgumentException("At least one layer must be unpacked at a time, got " + layers);
        }
        this.layerParallelism = layers;
        return this;
    }

    /**
     * Reports each unpack's progress with what {@code progress} makes of the image's description, instead of at
     * {@code INFO} about once a second (for testing purposes).
     *
     * @return this cache
     */
    ImageCache unpackProgress(Function<String, UnpackProgress> progress) {
        this.progressFactory = Objects.requireNonNull(progress);
        return this;
    }

    /** The cache's root directory. */
    public Path root() {
        return root;
    }

    /** A cache in {@link CacheDirectory#resolve()} with limits from system properties. */
    public static ImageCache atDefaultLocation(Consumer<String> notes) {
        return new ImageCache(CacheDirectory.resolve(), new SafeTarUnpacker(), notes);
    }

    /**
     * The unpacked rootfs of {@code source}: a rootfs directory as it is, an archive or image layout
     * unpacked into the cache unless it is there already.
     *
     * @throws ImageUnpackException if the image cannot be unpacked
     * @throws UncheckedIOException if the image cannot be read or the cache cannot be written
     */
    public Path rootfsFor(ImageSource source) {
        Path entry = entryFor(source);
        return entry == null ? ((ImageSource.Directory) source).path() : entry.resolve(ROOTFS);
    }

    /**
     * The unpacked rootfs of {@code source} and its image config's run defaults
     * ({@link ImageConfig#EMPTY} for a plain rootfs tar or directory).
     *
     * @throws ImageUnpackException if the image cannot be unpacked
     * @throws UncheckedIOException if the image cannot be read or the cache cannot be written
     */
    public UnpackedImage unpack(ImageSource source) {
        Path entry = entryFor(source);
        if (entry == null) {
            return new UnpackedImage(((ImageSource.Directory) source).path(), ImageConfig.EMPTY);
        }
        return new UnpackedImage(entry.resolve(ROOTFS), readConfig(entry, source));
    }

    /** The directory that holds one subdirectory per unpacked image. */
    public Path imagesDirectory() {
        return imagesDirectory;
    }

    /**
     * Removes complete entries, least recently used first, that were last used more than
     * {@code maxAge} ago or while the entries together hold more than {@code maxBytes} bytes of file
     * content (each stored layer and pulled blob counted once), then the layers, pulled layouts, blobs and
     * tags no remaining entry uses. Entries being unpacked or held by any JVM (this one too) are kept.
     *
     * @param maxBytes the most bytes of file content to keep, 0 or more
     * @param maxAge entries unused for longer are removed
     * @return the entries removed, oldest first
     * @throws UncheckedIOException if an entry cannot be removed
     */
    public List<Path> prune(long maxBytes, Duration maxAge) {
        if (maxBytes < 0 || maxAge.isNegative()) {
            throw new IllegalArgumentException(
                    "Prune limits must not be negative, got " + maxBytes + " bytes and " + maxAge);
        }
        if (!Files.isDirectory(imagesDirectory)) {
            return List.of();
        }
        return new CachePruner(this).prune(maxBytes, maxAge);
    }

    /** The cache entry for {@code source}, unpacked if needed, or {@code null} for a rootfs directory. */
    private Path entryFor(ImageSource source) {
        String key;
        Unpacking unpacking;
        if (source instanceof ImageSource.Directory directory) {
            if (!isLayoutDirectory(directory)) {
                if (directory.reference() != null) {
                    throw new ImageUnpackException("Image " + directory.description() + " is a rootfs directory, not "
                            + "an image layout, so it has no tags; remove '#" + directory.reference() + "'");
                }
                return null;
            }
            prepareDirectories(source);
            key = layoutDirectoryKey(directory);
            unpacking = (entry, temporary, progress) -> unpackLayoutDirectory(directory, temporary, progress);
        } else {
            ImageSource.Archive archive = (ImageSource.Archive) source;
            prepareDirectories(source); // before the digest index is written into the root
            String digest = digests.sha256(archive);
            key = archive.reference() == null
                    ? digest
                    : Sha256.hex((digest + "#" + archive.reference()).getBytes(StandardCharsets.UTF_8));
            unpacking = new ArchiveUnpacking(archive, digest); // a class, not a lambda: on the first test's path
        }
        Path entry = imagesDirectory.resolve(key);
        if (HANDED_OUT.containsKey(entry)) {
            if (isComplete(entry)) {
                touchLastUsed(entry, source);
                return entry;
            }
            forget(entry); // deleted by hand: unpacked again, which takes the lock exclusive
        }
        CacheLock lock = CacheLock.of(lockFile(source, key));
        for (int attempt = 1; ; attempt++) {
            try {
                lock.acquireShared();
                if (isComplete(entry)) {
                    if (HANDED_OUT.putIfAbsent(entry, lock) == null) {
                        makePrivate(entry, source); // once per JVM: an entry of an older version may be 0755
                    } else {
                        lock.releaseShared(); // this JVM holds it once already
                    }
                    break;
                }
                lock.releaseShared();
            } catch (IOException e) {
                throw cacheFailure(source, entry, e);
            }
            if (attempt > 3) {
                throw new IllegalStateException("Image " + source.description() + " was pruned from the cache " + entry
                        + " by another JVM each time it was unpacked; raise " + SettingNames.CACHE_MAX_BYTES);
            }
            unpackOnce(source, key, entry, unpacking);
        }
        touchLastUsed(entry, source);
        startAutomaticPrune();
        return entry;
    }

    /**
     * Starts this JVM's one automatic prune, in the background, if a cap is set, unless the last prune left the cache
     * under the cap and nothing was stored since ({@link PruneRecord}).
     */
    private void startAutomaticPrune() {
        long cap = automaticPruneBytes;
        if (cap <= 0 || !AUTOMATIC_PRUNE_STARTED.compareAndSet(false, true)) {
            return;
        }
        if (PruneRecord.fitsUnder(root, cap)) { // nothing stored since a prune left it under the cap: nothing to do
            if (LOG.isLoggable(Level.FINE)) { // not a Supplier lambda: a class spun on the first test's path
                LOG.fine("Skipped the automatic prune of the image cache " + root + ": nothing was stored in it "
                        + "since the last prune left it under " + cap + " bytes (" + root.resolve(PruneRecord.FILE)
                        + ")");
            }
            return;
        }
        Thread pruner = new Thread(
                () -> {
                    try {
                        List<Path> removed = prune(cap, FOREVER);
                        if (!removed.isEmpty()) {
                            LOG.info(() -> "Pruned " + removed.size() + " image(s) from the cache " + root
                                    + " to keep it under " + cap + " bytes (" + SettingNames.CACHE_MAX_BYTES
                                    + "), least recently used first: " + removed);
                        }
                    } catch (RuntimeException e) {
                        LOG.log(Level.WARNING, "Cannot prune the image cache " + root + ": " + e, e);
                    }
                },
                "isolated-cache-prune");
        pruner.setDaemon(true);
        pruner.start();
    }

    private void unpackOnce(ImageSource source, String key, Path entry, Unpacking unpacking) {
        // Keyed by real path: two locks on one file from one JVM would throw OverlappingFileLockException.
        Path lockFile = lockFile(source, key);
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> running = IN_FLIGHT.putIfAbsent(lockFile, mine);
        if (running != null) {
            await(running, source);
            return;
        }
        try {
            unpackUnderLock(source, entry, lockFile, unpacking);
            mine.complete(entry);
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            IN_FLIGHT.remove(lockFile, mine);
        }
    }

    /**
     * Creates the cache's root and {@code images/} 0700 if missing; once per instance (again if they were
     * deleted), checks that both are this user's and makes them exactly 0700 (an older version made them
     * 0755), so no other user can reach the unpacked images and their set-uid files.
     */
    private void prepareDirectories(ImageSource source) {
        if (ownershipChecked && Files.isDirectory(imagesDirectory, LinkOption.NOFOLLOW_LINKS)) {
            return; // checked, and not deleted since
        }
        try {
            OwnDirectory.createPrivate(root);
            OwnDirectory.requirePrivate(root, "the image cache", "-D" + CacheDirectory.PROPERTY);
            OwnDirectory.createPrivate(imagesDirectory);
            OwnDirectory.requirePrivate(imagesDirectory, "the image cache", "-D" + CacheDirectory.PROPERTY);
            ownershipChecked = true;
        } catch (IOException e) {
            throw cacheFailure(source, imagesDirectory, e);
        }
    }

    /** Makes an existing entry directory 0700 if it is not. */
    private static void makePrivate(Path entry, ImageSource source) {
        try {
            if (((Integer) Files.getAttribute(entry, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777)
                    != OwnDirectory.PRIVATE_MODE) {
                Files.setAttribute(entry, "unix:mode", OwnDirectory.PRIVATE_MODE, LinkOption.NOFOLLOW_LINKS);
            }
        } catch (IOException e) {
            throw cacheFailure(source, entry, e);
        }
    }

    /** The lock file of {@code key}, by real path. */
    Path lockFile(ImageSource source, String key) {
        try {
            return imagesDirectory.toRealPath().resolve(key + ".lock");
        } catch (IOException e) {
            throw cacheFailure(source, imagesDirectory, e);
        }
    }

    /** Whether a lock file is held by an unpack in this JVM. */
    static boolean isUnpackingHere(Path lockFile) {
        return IN_FLIGHT.containsKey(lockFile);
    }

    /** Forgets which entries this JVM handed out and releases their shared locks (for testing purposes). */
    static void forgetHandedOut() {
        for (Path entry : List.copyOf(HANDED_OUT.keySet())) {
            forget(entry);
        }
    }

    /** Forgets that this JVM handed out {@code entry} and gives back its shared hold. */
    private static void forget(Path entry) {
        CacheLock lock = HANDED_OUT.remove(entry);
        if (lock != null) {
            try {
                lock.releaseShared();
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot unlock the image cache entry " + entry + ": " + e, e);
            }
        }
    }

    /** Whether this JVM has handed out {@code entry}. */
    static boolean isHandedOut(Path entry) {
        return HANDED_OUT.containsKey(entry);
    }

    private void unpackUnderLock(ImageSource source, Path entry, Path lockFile, Unpacking unpacking) {
        CacheLock lock = CacheLock.of(lockFile);
        try {
            // Waits until other JVMs are done unpacking or pruning it, or one of them made it complete.
            if (!lock.acquireExclusive(() -> isComplete(entry))) {
                return;
            }
            try {
                if (!isComplete(entry)) {
                    FileTrees.deleteRecursively(entry); // stale: an earlier unpack died before its marker
                    unpack(source, entry, unpacking);
                }
            } finally {
                lock.releaseExclusive();
            }
        } catch (IOException e) {
            throw cacheFailure(source, entry, e);
        }
    }

    private static UncheckedIOException cacheFailure(ImageSource source, Path where, IOException e) {
        return new UncheckedIOException(
                "Cannot prepare image " + source.description() + " in the cache " + where + ": " + e + ". "
                        + CacheDirectory.WRITE_FIX,
                e);
    }

    /** What unpacking writes into a temporary rootfs directory. */
    @FunctionalInterface
    private interface Unpacking {

        /**
         * @param entry the cache entry, for staging directories
         * @param temporaryRootfs where the rootfs goes
         * @param progress reports a long unpack
         */
        Outcome run(Path entry, Path temporaryRootfs, UnpackProgress progress) throws IOException;
    }

    /** Unpacks an archive (unpackArchive). */
    private final class ArchiveUnpacking implements Unpacking {
        private final ImageSource.Archive archive;
        private final String digest;

        ArchiveUnpacking(ImageSource.Archive archive, String digest) {
            this.archive = archive;
            this.digest = digest;
        }

        @Override
        public Outcome run(Path entry, Path temporaryRootfs, UnpackProgress progress) throws IOException {
            return unpackArchive(archive, digest, entry, temporaryRootfs, progress);
        }
    }

    /**
     * @param result counts and notes
     * @param config the run defaults, or {@code null} for a plain rootfs
     * @param layers the stored layers it was merged from, lowest first (none for a plain rootfs)
     * @param layout the pulled layout ({@code <cache>/layouts/<hex>}) it came from, or {@code null}
     */
    private record Outcome(UnpackResult result, ImageConfig config, List<StoredLayer> layers, String layout) {}

    /** Unpacks into a temporary directory, renames it to {@code rootfs}, then writes the marker. */
    private void unpack(ImageSource source, Path entry, Unpacking unpacking) throws IOException {
        PruneRecord.storing(root); // before anything is written, so a crash leaves no record: the next JVM prunes
        try {
            unpackStoring(source, entry, unpacking);
        } catch (EntryWriteException e) {
            throw e.inCache(root);
        } finally {
            PruneRecord.storing(root); // again: a prune that ran meanwhile may not have counted this image
        }
    }

    private void unpackStoring(ImageSource source, Path entry, Unpacking unpacking) throws IOException {
        Files.createDirectory(entry, PRIVATE);
        Files.setAttribute(
                entry, "unix:mode", OwnDirectory.PRIVATE_MODE, LinkOption.NOFOLLOW_LINKS); // whatever the umask
        try {
            Path temporary = Files.createTempDirectory(entry, ROOTFS + ".tmp-");
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rwxr-xr-x"));
            Outcome outcome = unpacking.run(entry, temporary, progressFactory.apply(source.description()));
            Files.move(temporary, entry.resolve(ROOTFS), StandardCopyOption.ATOMIC_MOVE);
            if (outcome.config() != null) {
                writeAtomically(entry, CONFIG, ImageConfigJson.write(outcome.config()));
            }
            writeMarker(entry, source, outcome);
            notes.accept("Unpacked image " + source.description() + " (sha256 " + entry.getFileName() + ") into "
                    + entry.resolve(ROOTFS) + ": " + outcome.result().entries() + " entries, "
                    + outcome.result().bytes()
                    + " bytes");
            outcome.result().notes().forEach(notes);
        } catch (IOException | RuntimeException | Error e) {
            try {
                FileTrees.deleteRecursively(entry);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private Outcome unpackArchive(
            ImageSource.Archive archive, String digest, Path entry, Path temporary, UnpackProgress progress)
            throws IOException {
        String image = archive.description();
        // One pass: the archive is unpacked as a rootfs tar, then what landed at its top tells whether it was
        // an image layout after all (docker save, podman/skopeo docker-archive, OCI layout), whatever else it holds.
        progress.archive(archive.backingFile() == null ? 0 : Files.size(archive.backingFile()));
        TarExtraction extraction = unpacker.startImage(image, temporary);
        readVerified(
                archive,
                digest,
                in -> extraction.extractRootfs(new CountingInputStream(in, progress)),
                extraction::uncompressedDigest);
        UnpackResult result = extraction.finish();
        if (!LayoutDirectory.isLayout(temporary)) {
            if (archive.reference() != null) {
                throw new ImageUnpackException("Image " + image + " is a plain rootfs tar, which holds one untagged "
                        + "image; remove '#" + archive.reference() + "' from the rootfs name");
            }
            return new Outcome(result, null, List.of(), null);
        }
        Path staging = entry.resolve("layout.tmp-" + temporary.getFileName());
        Files.move(temporary, staging, StandardCopyOption.ATOMIC_MOVE);
        try {
            Files.createDirectory(temporary);
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rwxr-xr-x"));
            return unpackLayers(
                    new LayoutDirectory(staging, image), archive.reference(), image, temporary, null, progress);
        } finally {
            FileTrees.deleteRecursively(staging);
        }
    }

    private Outcome unpackLayoutDirectory(ImageSource.Directory directory, Path temporary, UnpackProgress progress)
            throws IOException {
        String image = directory.description();
        return unpackLayers(
                new LayoutDirectory(directory.path(), image),
                directory.reference(),
                image,
                temporary,
                pulledLayout(directory.path()),
                progress);
    }

    /** The hex name of {@code directory} if it is a pulled image's layout, {@code <cache>/layouts/<hex>}, else null. */
    private String pulledLayout(Path directory) throws IOException {
        Path layouts = root.resolve("layouts");
        if (!Files.isDirectory(layouts)) {
            return null;
        }
        Path real = directory.toRealPath();
        String name = real.getFileName() == null ? "" : real.getFileName().toString();
        return LayerStore.isKey(name) && layouts.toRealPath().equals(real.getParent()) ? name : null;
    }

    /**
     * Stores each layer of the chosen image unless the store has it, then merges them into {@code temporary}
     * with hard links ({@link LayerMerger}). The image's limits count every layer, stored before or not.
     */
    private Outcome unpackLayers(
            LayoutDirectory layout,
            String reference,
            String image,
            Path temporary,
            String pulledLayout,
            UnpackProgress progress)
            throws IOException {
        LayeredImage chosen = LayoutUnpacker.choose(layout, reference, image);
        long total = 0;
        for (LayeredImage.Layer layer : chosen.layers()) {
            total += LayoutUnpacker.size(layout, layer);
        }
        progress.layers(chosen.layers().size(), total);
        // First each layer is stored, under its own exclusive lock only (several at once, each on a thread of its
        // own); then all are held shared, taken in one order, while the image is merged. No thread ever waits for a
        // lock while holding another, so images whose layers come in different orders never deadlock across JVMs.
        Set<String> unpacked = new LinkedHashSet<>();
        List<String> keys = storeLayers(layout, chosen.layers(), image, progress, unpacked);
        List<CacheLock> held = new ArrayList<>();
        try {
            List<StoredLayer> stored = holdAll(keys, held);
            for (int attempt = 1; stored == null; attempt++) {
                if (attempt > 3) {
                    throw new IllegalStateException("Image " + image + ": its layers were pruned from the layer store "
                            + "by another JVM each time they were unpacked; raise "
                            + SettingNames.CACHE_MAX_BYTES);
                }
                releaseAll(held);
                progress.layers(chosen.layers().size(), total); // counted again: what is stored counts at once
                storeLayers(layout, chosen.layers(), image, progress, unpacked); // pruned meanwhile: stored again
                stored = holdAll(keys, held);
            }
            long entries = 0;
            long bytes = 0;
            Set<String> notes = new LinkedHashSet<>();
            for (int i = 0; i < stored.size(); i++) {
                entries += stored.get(i).entries();
                bytes += stored.get(i).bytes();
                checkLimits(image, chosen.layers().get(i), entries, bytes);
                notes.addAll(stored.get(i).notes());
            }
            LayerMerger.merge(
                    stored,
                    chosen.layers().stream()
                            .map(LayeredImage.Layer::description)
                            .toList(),
                    temporary,
                    image);
            List<String> reused =
                    keys.stream().filter(key -> !unpacked.contains(key)).toList();
            notes.add("Image " + image + ": " + keys.size() + " layer(s), " + unpacked.size() + " unpacked now"
                    + (unpacked.isEmpty() ? "" : " " + unpacked) + ", " + reused.size()
                    + " reused from the layer store "
                    + layers.directory() + (reused.isEmpty() ? "" : " " + reused));
            return new Outcome(
                    new UnpackResult(entries, bytes, List.copyOf(notes)), chosen.config(), stored, pulledLayout);
        } finally {
            releaseAll(held);
        }
    }

    /**
     * Stores each of {@code imageLayers} that the store does not have, several at once ({@link #parallelism}), each
     * into its own directory of the store under its own lock; returns their diff_ids, in order. The image's limits
     * count over all of them at once ({@link ImageBudget}), starting from what the stored ones hold. When one fails,
     * the others stop (or finish, if they are past their last entry), every thread ends, and that first failure is
     * thrown; what the others had half written is deleted with their temporary directories ({@link LayerStore}).
     *
     * @param unpacked collects the diff_ids unpacked now, in the image's order
     */
    private List<String> storeLayers(
            LayoutDirectory layout,
            List<LayeredImage.Layer> imageLayers,
            String image,
            UnpackProgress progress,
            Set<String> unpacked)
            throws IOException {
        ImageBudget budget = new ImageBudget(unpacker.limits());
        String[] keys = new String[imageLayers.size()];
        StoredLayer[] results = new StoredLayer[imageLayers.size()];
        List<ParallelTasks.Task> tasks = new ArrayList<>();
        Set<String> queued = new java.util.HashSet<>();
        for (int i = 0; i < imageLayers.size(); i++) {
            LayeredImage.Layer layer = imageLayers.get(i);
            StoredLayer found = layer.diffId() == null ? null : layers.find(layer.diffId());
            if (found != null) {
                keys[i] = layer.diffId();
                budget.countStored(found.entries(), found.bytes());
                progress.add(LayoutUnpacker.size(layout, layer));
                progress.layerDone();
            } else if (layer.diffId() == null || queued.add(layer.diffId())) {
                int index = i;
                tasks.add(() -> {
                    results[index] = layers.store(
                            layer.diffId(),
                            image,
                            layer.description(),
                            tree -> TarExtraction.forStoredLayer(budget, image, tree, progress),
                            extraction -> LayoutUnpacker.apply(layout, layer, image, extraction));
                    progress.layerDone();
                });
            } else { // the image has it twice: stored by the first
                keys[i] = layer.diffId();
                progress.add(LayoutUnpacker.size(layout, layer));
                progress.layerDone();
            }
        }
        ParallelTasks.run(tasks, layerParallelism, "isolated-unpack-layers " + image, budget::stop);
        for (int i = 0; i < imageLayers.size(); i++) {
            if (results[i] != null) {
                keys[i] = results[i].diffId();
                if (!results[i].reused()) {
                    unpacked.add(keys[i]);
                }
            }
        }
        return List.of(keys);
    }

    /** How many layers of an image are unpacked at once: one per processor, at most {@value #MAX_PARALLEL_LAYERS}. */
    static int parallelism() {
        return Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), MAX_PARALLEL_LAYERS));
    }

    /**
     * Holds every layer of {@code keys} shared, in sorted order, into {@code held}.
     *
     * @return the stored layers in the order of {@code keys}, or {@code null} if one is gone (pruned meanwhile)
     */
    private List<StoredLayer> holdAll(List<String> keys, List<CacheLock> held) throws IOException {
        for (String key : new java.util.TreeSet<>(keys)) {
            CacheLock lock = layers.lock(key.substring("sha256:".length()));
            lock.acquireShared();
            held.add(lock);
        }
        List<StoredLayer> stored = new ArrayList<>();
        for (String key : keys) {
            StoredLayer layer = layers.find(key);
            if (layer == null) {
                return null;
            }
            stored.add(layer);
        }
        return stored;
    }

    private static void releaseAll(List<CacheLock> held) throws IOException {
        for (CacheLock lock : held) {
            lock.releaseShared();
        }
        held.clear();
    }

    /** Refuses an image whose layers, stored before or not, hold more than the limits allow. */
    private void checkLimits(String image, LayeredImage.Layer layer, long entries, long bytes) {
        UnpackLimits limits = unpacker.limits();
        if (entries > limits.maxEntries()) {
            throw new ImageUnpackException("Image " + image + " has more than " + limits.maxEntries() + " entries (at "
                    + layer.description() + "); if it is trusted, raise the limit with -D"
                    + UnpackLimits.MAX_ENTRIES_PROPERTY + "=N");
        }
        if (bytes > limits.maxTotalBytes()) {
            throw new ImageUnpackException("Image " + image + " holds more than " + limits.maxTotalBytes()
                    + " bytes of file content (reached at " + layer.description() + "); if it is trusted, raise the "
                    + "limit with -D" + UnpackLimits.MAX_TOTAL_BYTES_PROPERTY + "=BYTES");
        }
    }

    /**
     * Streams the archive into {@code reader}, then checks that its bytes still have {@code digest}. An uncompressed
     * archive is checked against the digest the reader took of every byte it read ({@code readerDigest}, the tar
     * read to its end), instead of hashing the same bytes a second time; a compressed one is hashed as it streams.
     */
    private static void readVerified(
            ImageSource.Archive archive, String digest, Consumer<InputStream> reader, Supplier<String> readerDigest)
            throws IOException {
        try (InputStream raw = archive.open();
                BufferedInputStream buffered = new BufferedInputStream(raw, 64 * 1024)) {
            boolean plain = Compression.detect(buffered) == Compression.NONE;
            DigestInputStream in = new DigestInputStream(buffered, Sha256.newDigest());
            in.on(!plain);
            reader.accept(in);
            if (plain && in.read() != -1) {
                throw changed(archive, "sha256 " + digest + " before, then more bytes than were unpacked");
            }
            in.transferTo(OutputStream.nullOutputStream());
            String unpackedDigest =
                    plain ? readerDigest.get().substring("sha256:".length()) : Sha256.hex(in.getMessageDigest());
            if (!unpackedDigest.equals(digest)) {
                throw changed(archive, "sha256 " + digest + " before, " + unpackedDigest + " after");
            }
        }
    }

    private static ImageUnpackException changed(ImageSource.Archive archive, String how) {
        return new ImageUnpackException("Image " + archive.description() + " changed while it was unpacked (" + how
                + "); do not rewrite it during tests");
    }

    private static boolean isLayoutDirectory(ImageSource.Directory directory) {
        return LayoutDirectory.isLayout(directory.path());
    }

    /** The SHA-256 of what pins a layout directory's content: its index.json and manifest.json, and the tag. */
    private static String layoutDirectoryKey(ImageSource.Directory directory) {
        try {
            StringBuilder pinned = new StringBuilder("image layout directory\n");
            for (String name : List.of("index.json", "manifest.json")) {
                Path file = directory.path().resolve(name);
                if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                    pinned.append(name)
                            .append('\n')
                            .append(Sha256.hex(Files.readAllBytes(file)))
                            .append('\n');
                }
            }
            pinned.append('#').append(directory.reference() == null ? "" : directory.reference());
            return Sha256.hex(pinned.toString().getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read image " + directory.description() + ": " + e, e);
        }
    }

    private static void writeMarker(Path entry, ImageSource source, Outcome outcome) throws IOException {
        UnpackResult result = outcome.result();
        StringBuilder text = new StringBuilder()
                .append("source=")
                .append(source.description().replace('\n', ' '))
                .append('\n')
                .append("entries=")
                .append(result.entries())
                .append('\n')
                .append("bytes=")
                .append(result.bytes())
                .append('\n');
        outcome.layers()
                .forEach(layer -> text.append(LAYER_LINE).append(layer.hex()).append('\n'));
        if (outcome.layout() != null) {
            text.append(LAYOUT_LINE).append(outcome.layout()).append('\n');
        }
        result.notes()
                .forEach(note ->
                        text.append("note=").append(UnpackResult.asLine(note)).append('\n'));
        writeAtomically(entry, MARKER, text.toString());
    }

    private static void writeAtomically(Path entry, String name, String content) throws IOException {
        Path partial = entry.resolve(name + ".tmp");
        try (FileChannel channel = FileChannel.open(partial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(StandardCharsets.UTF_8.encode(content));
            channel.force(true);
        }
        Files.move(partial, entry.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    private static ImageConfig readConfig(Path entry, ImageSource source) {
        Path file = entry.resolve(CONFIG);
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            return ImageConfig.EMPTY; // a plain rootfs tar
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Cannot read the config of image " + source.description() + " from the cache (" + file + "): " + e,
                    e);
        }
        try {
            return ImageConfigJson.read(JsonObject.parse(text, file.toString()));
        } catch (JsonException e) {
            throw new ImageUnpackException(
                    "The cached config of image " + source.description() + " is damaged: " + e.getMessage()
                            + ". Delete " + entry + " to unpack it again.",
                    e);
        }
    }

    /** Records that {@code entry} was used now, for {@link #prune}. */
    private void touchLastUsed(Path entry, ImageSource source) {
        Path lastUsed = entry.resolve(LAST_USED);
        FileTime now = FileTime.from(Instant.now());
        try {
            try {
                Files.setLastModifiedTime(lastUsed, now);
            } catch (NoSuchFileException e) {
                Files.write(lastUsed, new byte[0]);
            }
        } catch (IOException e) {
            notes.accept("Cannot record the use of image " + source.description() + " in " + lastUsed + " (" + e
                    + "); pruning will take it for unused since it was unpacked");
        }
    }

    /** The complete entries, with their last use, own size, layers and layout, least recently used first. */
    List<CachePruner.Candidate> completeEntries() {
        List<CachePruner.Candidate> entries = new ArrayList<>();
        try (Stream<Path> children = Files.list(imagesDirectory)) {
            for (Path entry : children.toList()) {
                if (LayerStore.isKey(entry.getFileName().toString()) && isComplete(entry)) {
                    entries.add(candidate(entry));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot list the image cache " + imagesDirectory + ": " + e, e);
        }
        entries.sort(Comparator.comparing(CachePruner.Candidate::lastUsed));
        return entries;
    }

    private static CachePruner.Candidate candidate(Path entry) throws IOException {
        long bytes = -1;
        Set<String> layerKeys = new LinkedHashSet<>();
        String layout = null;
        // readString and a one-character split, not readAllLines, whose reader and decoder cost more per file: the
        // automatic prune reads every entry's marker beside a JVM's first test
        for (String line : Files.readString(entry.resolve(MARKER)).split("\n")) {
            if (line.startsWith("bytes=")) {
                try {
                    bytes = Long.parseLong(line.substring("bytes=".length()));
                } catch (NumberFormatException e) {
                    bytes = -1;
                }
            } else if (line.startsWith(LAYER_LINE)) {
                layerKeys.add(line.substring(LAYER_LINE.length()));
            } else if (line.startsWith(LAYOUT_LINE)) {
                layout = line.substring(LAYOUT_LINE.length());
            }
        }
        if (!layerKeys.isEmpty()) {
            bytes = 0; // its files are hard links to the layers'
        } else if (bytes < 0) {
            bytes = FileTrees.sizeOf(entry.resolve(ROOTFS));
        }
        return new CachePruner.Candidate(entry, lastUse(entry), bytes, layerKeys, layout);
    }

    /** The layer store. */
    LayerStore layerStore() {
        return layers;
    }

    /**
     * Removes {@code entry} unless a JVM (this one too) holds its lock or it is no longer complete; the marker
     * goes first, so a crash leaves a stale entry, never a complete-looking partial one.
     *
     * @return whether it was removed
     */
    boolean removeIfUnlocked(Path entry) throws IOException {
        Path lockFile = Files.createDirectories(imagesDirectory).toRealPath().resolve(entry.getFileName() + ".lock");
        if (isUnpackingHere(lockFile)) {
            return false;
        }
        CacheLock lock = CacheLock.of(lockFile);
        if (!lock.tryExclusive()) {
            return false;
        }
        try {
            if (!isComplete(entry)) {
                return false;
            }
            Files.delete(entry.resolve(MARKER));
            FileTrees.deleteRecursively(entry);
            return true;
        } finally {
            lock.releaseExclusive();
        }
    }

    /**
     * Removes the entries left incomplete by a JVM that died while unpacking them, unless a JVM (this one too)
     * holds their lock, as one that is unpacking does.
     *
     * @return whether none was kept
     */
    boolean removeStaleEntries() throws IOException {
        boolean all = true;
        try (Stream<Path> children = Files.list(imagesDirectory)) {
            for (Path entry : children.toList()) {
                if (!LayerStore.isKey(entry.getFileName().toString())
                        || isComplete(entry)
                        || !Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                Path lockFile = imagesDirectory.toRealPath().resolve(entry.getFileName() + ".lock");
                CacheLock lock = CacheLock.of(lockFile);
                if (!isUnpackingHere(lockFile) && lock.tryExclusive()) {
                    try {
                        if (!isComplete(entry)) {
                            FileTrees.deleteRecursively(entry);
                        }
                    } finally {
                        lock.releaseExclusive();
                    }
                } else {
                    all = false; // being unpacked
                }
            }
        }
        return all;
    }

    private static Instant lastUse(Path entry) throws IOException {
        Path lastUsed = entry.resolve(LAST_USED);
        Path stamp = Files.exists(lastUsed, LinkOption.NOFOLLOW_LINKS) ? lastUsed : entry.resolve(MARKER);
        return Files.getLastModifiedTime(stamp, LinkOption.NOFOLLOW_LINKS).toInstant();
    }

    private static boolean isComplete(Path entry) {
        return Files.isRegularFile(entry.resolve(MARKER), LinkOption.NOFOLLOW_LINKS)
                && Files.isDirectory(entry.resolve(ROOTFS), LinkOption.NOFOLLOW_LINKS);
    }

    private static void await(CompletableFuture<Path> running, ImageSource source) {
        try {
            running.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof ImageUnpackException unpack) {
                throw new ImageUnpackException(unpack.getMessage(), unpack);
            }
            if (cause instanceof UncheckedIOException io) {
                throw new UncheckedIOException(io.getMessage(), io.getCause());
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(
                    "Unpacking image " + source.description() + " failed in another thread", cause);
        }
    }
}
