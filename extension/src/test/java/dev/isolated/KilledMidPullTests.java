package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.SafeTarUnpacker;
import dev.isolated.internal.image.TestImages;
import dev.isolated.internal.registry.LocalRegistry;
import dev.isolated.internal.registry.TestOci;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM killed with SIGKILL in the middle of pulling an image (README: *Where the rootfs comes from*, the image
 * store) leaves nothing a later pull takes for complete: a new JVM pulls the same image by name into the same cache
 * and runs a command from it, and the store then holds the tag's record of the registry's digest, blobs whose content
 * is their digest, and complete layouts. The kill comes at moments a user can see in the cache (the tag's record or
 * its temporary file, a partial blob, a layout being laid out, the image being unpacked) and after fixed delays.
 */
@DisplayName("a JVM killed while it pulls an image")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class KilledMidPullTests {

    private static final String CONTENT = "pulled whole\n";

    private static Path work;
    private static LocalRegistry registry;
    private static String image;

    @BeforeAll
    static void startRegistry() throws Exception {
        work = Files.createTempDirectory("isolated-killed-pull-");
        registry = LocalRegistry.start(work, work.resolve("storage"));
        byte[] busybox;
        try (InputStream in = KilledMidPullTests.class.getResourceAsStream("/busybox.tar")) {
            busybox = in.readAllBytes();
        }
        // 8 MiB that gzip cannot shrink: a download long enough to be caught in the middle
        StringBuilder noise = new StringBuilder();
        Random random = new Random(7);
        for (int i = 0; i < 8 << 20; i++) {
            noise.append((char) ('!' + random.nextInt(90)));
        }
        Path layout = TestOci.layout(
                work.resolve("layout"),
                "amd64",
                "{\"Env\":[\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\"]}",
                busybox,
                TestImages.layer(List.of("etc"), Map.of("etc/killpull", CONTENT, "etc/noise", noise.toString())));
        registry.push(layout, "1.0", "library/killpull:1");
        image = registry.host() + "/library/killpull:1";
    }

    @AfterAll
    static void stopRegistry() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (work != null) {
            try (Stream<Path> paths = Files.walk(work)) {
                for (Path path :
                        paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(path);
                }
            }
        }
    }

    /**
     * A moment of the pull: what the cache shows, a delay after the child starts pulling, or (strace's {@code
     * inject}) the n-th rename the child makes (each puts something in place: a blob, the tag's record, a layout, a
     * layer, the image), which it is killed at, before the rename is made.
     */
    private record Moment(String name, Predicate<Path> seen, long delayMillis, int rename) {
        Moment(String name, Predicate<Path> seen, long delayMillis) {
            this(name, seen, delayMillis, 0);
        }
    }

    @Test
    @DisplayName("at any moment: a new JVM pulls the image by name and runs a command from it; nothing half-written "
            + "is taken as valid")
    void killedMidPull(@TempDir Path tmp) throws Exception {
        String repository = registry.host() + "/library/killpull";
        List<Moment> moments = new ArrayList<>(List.of(
                new Moment("the tag's temporary file", cache -> any(cache.resolve("refs"), ".tmp"), 0),
                new Moment("the tag's record", cache -> Files.exists(cache.resolve("refs/" + repository + "/1")), 0),
                new Moment("a partial blob", cache -> any(cache.resolve("blobs/sha256"), ".partial"), 0),
                new Moment("a layout being laid out", cache -> any(cache.resolve("layouts"), "DIR.tmp-"), 0),
                new Moment("the image being unpacked", cache -> any(cache.resolve("images"), "DIR"), 0)));
        for (int rename = 1; rename <= 10; rename++) {
            moments.add(new Moment("rename " + rename, cache -> false, 0, rename));
        }
        for (long delay : List.of(0L, 100L, 300L)) {
            moments.add(new Moment(delay + " ms after the pull began", cache -> true, delay));
        }
        List<String> caught = new ArrayList<>();
        for (int i = 0; i < moments.size(); i++) {
            Moment moment = moments.get(i);
            Path run = Files.createDirectories(tmp.resolve("run-" + i));
            Path cache = run.resolve("cache");
            List<String> options = List.of(
                    "-Djava.io.tmpdir=" + Files.createDirectories(run.resolve("java-tmp")),
                    "-D" + IsolatedConfiguration.LAYER_DIR + "=" + run.resolve("layers"),
                    "-D" + IsolatedConfiguration.CACHE_DIR + "=" + cache,
                    "-D" + IsolatedConfiguration.REGISTRY_INSECURE + "=" + registry.host(),
                    "-Dkilled.pull.image=" + image);

            Path trace = run.resolve("strace.log");
            List<String> prefix = moment.rename() > 0
                    ? List.of(
                            "strace",
                            "-f",
                            "-qq",
                            "-o",
                            trace.toString(),
                            "-e",
                            "trace=rename,renameat,renameat2",
                            "-e",
                            "inject=rename,renameat,renameat2:signal=KILL:when=" + moment.rename())
                    : List.of();
            String result = killWhen(prefix, options, cache, moment);
            String name = moment.name();
            if (moment.rename() > 0) { // strace counts each thread's renames: name the one the kill stopped
                name += Files.readAllLines(trace).stream()
                        .filter(line -> line.matches("\\d+ +rename.*(= \\?|<unfinished \\.\\.\\.>)"))
                        .map(line -> " (" + line.replaceFirst("^\\d+ +", "") + ")")
                        .findFirst()
                        .orElse(" (none stopped)");
            }
            caught.add(name + ": " + result);

            List<String> lines = FixtureRunner.runInChildJvm(List.of(), options, PullCase.class);
            assertThat(lines)
                    .as("the next JVM's pull and command, after a kill at %s", moment.name())
                    .containsExactly("PULLING", "SUCCESSFUL\t");
            assertStoreWhole(cache, repository, moment.name());
        }
        System.out.println("Kills: " + caught);
        assertThat(caught)
                .as("the moments the kills caught the pull at")
                .anyMatch(line -> line.startsWith("a partial blob: killed while"))
                .anyMatch(line -> line.startsWith("the tag's record: killed while"))
                .anyMatch(line -> line.startsWith("rename ")
                        && line.contains(".tmp\", \"")
                        && line.contains("/refs/" + repository + "/1\"")
                        && line.contains(": killed while pulling"));
    }

    /**
     * Starts a child JVM that pulls the image and kills it with SIGKILL once {@code moment} is seen (or its delay
     * passed).
     *
     * @return {@code killed while pulling} or, when the child ended first, what it printed
     */
    private static String killWhen(List<String> prefix, List<String> options, Path cache, Moment moment)
            throws Exception {
        List<String> command = new ArrayList<>(prefix);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        command.addAll(List.of(
                "-cp", System.getProperty("java.class.path"), FixtureRunner.class.getName(), PullCase.class.getName()));
        Process child;
        try {
            child = new ProcessBuilder(command)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new AssertionError("Cannot run " + command.get(0) + " (.ci/install-deps installs strace): " + e, e);
        }
        try {
            BufferedReader out =
                    new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertThat(line).as("the child's first line").isEqualTo("PULLING");
            if (moment.delayMillis() > 0) {
                Thread.sleep(moment.delayMillis()); // the moment to kill at, not a wait for something
            }
            while (child.isAlive() && !moment.seen().test(cache)) {
                Thread.onSpinWait();
            }
            List<String> rest = child.isAlive() ? List.of() : out.lines().toList();
            ProcessHandle.of(child.pid()).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            if (child.exitValue() != 137) {
                return "ended first: exit " + child.exitValue() + ", " + rest;
            }
            try (Stream<Path> left = Files.walk(cache)) {
                return "killed while pulling, leaving "
                        + left.filter(p -> !Files.isDirectory(p)
                                        || p.getFileName().toString().contains(".tmp"))
                                .map(p -> cache.relativize(p).toString())
                                .filter(p -> p.startsWith("refs/")
                                        || p.endsWith(".partial")
                                        || (p.contains(".tmp") && Path.of(p).getNameCount() <= 3))
                                .toList();
            } catch (IOException | java.io.UncheckedIOException e) {
                return "killed while pulling";
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
    }

    /** The tag's record names the registry's digest, every blob is its digest's content, every layout complete. */
    private static void assertStoreWhole(Path cache, String repository, String moment) throws Exception {
        Path ref = cache.resolve("refs/" + repository + "/1");
        assertThat(Files.readAllLines(ref).get(0))
                .as("the tag's record %s, after a kill at %s", ref, moment)
                .isEqualTo(registry.head("library/killpull", "1")[0]);
        try (Stream<Path> refs = Files.list(ref.getParent())) {
            assertThat(refs.map(p -> p.getFileName().toString()).filter(name -> !name.equals("1")))
                    .as(
                            "the other files beside the tag's record, after a kill at %s: temporary files, which no tag "
                                    + "is named as",
                            moment)
                    .allSatisfy(name -> assertThat(name).startsWith(".1.").endsWith(".tmp"));
        }
        new ImageCache(cache, new SafeTarUnpacker(), note -> {}).prune(Long.MAX_VALUE, Duration.ofDays(365));
        try (Stream<Path> refs = Files.list(ref.getParent())) {
            assertThat(refs.map(p -> p.getFileName().toString()))
                    .as("the tag records of %s, pruned after a kill at %s", repository, moment)
                    .containsExactly("1");
        }
        assertThat(Files.readAllLines(ref).get(0))
                .as("the tag's record, pruned")
                .startsWith("sha256:");
        try (Stream<Path> blobs = Files.list(cache.resolve("blobs/sha256"))) {
            for (Path blob : blobs.toList()) {
                String name = blob.getFileName().toString();
                assertThat(name).as("a blob left after a kill at %s", moment).matches("[0-9a-f]{64}");
                assertThat(TestOci.digest(Files.readAllBytes(blob)))
                        .as("the content of blob %s, after a kill at %s", name, moment)
                        .isEqualTo("sha256:" + name);
            }
        }
        try (Stream<Path> layouts = Files.list(cache.resolve("layouts"))) {
            for (Path layout : layouts.toList()) {
                if (!layout.getFileName().toString().contains(".tmp-")) { // left for pruning, never read
                    assertThat(layout.resolve("index.json"))
                            .as("a layout after a kill at %s", moment)
                            .isRegularFile();
                }
            }
        }
    }

    /**
     * Whether {@code dir} holds an entry whose name ends with {@code suffix} ({@code DIR} before it: a directory whose
     * name contains the rest, or any directory for {@code DIR} alone), at any depth.
     */
    private static boolean any(Path dir, String suffix) {
        boolean directory = suffix.startsWith("DIR");
        String part = directory ? suffix.substring(3) : suffix;
        try (Stream<Path> paths = Files.walk(dir)) {
            return paths.filter(p -> !p.equals(dir))
                    .anyMatch(p -> directory
                            ? Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                                    && p.getFileName().toString().contains(part)
                            : p.getFileName().toString().endsWith(part));
        } catch (IOException | java.io.UncheckedIOException notYet) {
            return false;
        }
    }

    /** Run by the child JVMs: pulls the image by name and runs a command from it. */
    static class PullCase {
        @Test
        void pullAndRun() {
            System.out.println("PULLING");
            System.out.flush();
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .image(System.getProperty("killed.pull.image"))
                    .start()) {
                assertThat(env.exec("cat", "/etc/killpull"))
                        .succeeded()
                        .stdout()
                        .isEqualTo(CONTENT);
            }
        }
    }
}
