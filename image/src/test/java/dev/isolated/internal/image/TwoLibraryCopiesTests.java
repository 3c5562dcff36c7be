package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Copies of the library loaded twice in one JVM (an IDE or a build plugin that loads the test classpath again, a
 * harness with a class loader of its own) share the image cache as two JVMs do.
 */
@DisplayName("Copies of Isolated loaded by different class loaders of one JVM share one image cache")
class TwoLibraryCopiesTests {

    private static final int ROUNDS = 4;
    private static final long WAIT_SECONDS = 60;

    @TempDir
    Path work;

    @Test
    @DisplayName(
            "unpacking one image into a fresh cache at once, they store it once and each gets it, round after round")
    void unpackAtOnce() throws Exception {
        byte[] lower = TestImages.layer(List.of("usr"), Map.of("usr/lower", "from the lower layer"));
        byte[] upper = TestImages.layer(List.of("etc"), Map.of("etc/upper", "from the upper layer"));
        Path archive = Files.write(work.resolve("image.tar"), TestImages.dockerSave("{}", lower, upper));
        // This class loader's copy locks first, so that the two loaded below come after it, as in a build plugin.
        Files.createDirectories(work.resolve("first"));
        String first = work.resolve("first").toRealPath().resolve("first.lock").toString();
        LibraryCopyDriver.lock("acquireShared", first);
        LibraryCopyDriver.lock("releaseShared", first);
        List<URLClassLoader> loaders = List.of(copyOfTheLibrary(), copyOfTheLibrary());
        List<Method> unpackers = new ArrayList<>();
        unpackers.add(LibraryCopyDriver.class.getMethod("unpack", String.class, String.class));
        for (URLClassLoader loader : loaders) {
            unpackers.add(driver(loader).getMethod("unpack", String.class, String.class));
        }
        assertThat(unpackers.stream().map(Method::getDeclaringClass).distinct()).hasSize(3);
        ExecutorService pool = Executors.newFixedThreadPool(unpackers.size());
        try {
            for (int round = 1; round <= ROUNDS; round++) {
                Path cache = work.resolve("cache-" + round);
                CyclicBarrier start = new CyclicBarrier(unpackers.size());
                List<Future<String>> answers = new ArrayList<>();
                for (Method unpacker : unpackers) {
                    answers.add(pool.submit(() -> {
                        start.await();
                        return (String) unpacker.invoke(null, cache.toString(), archive.toString());
                    }));
                }
                List<String> rootfsPaths = new ArrayList<>();
                List<String> notes = new ArrayList<>();
                for (int copy = 0; copy < answers.size(); copy++) {
                    List<String> lines =
                            Arrays.asList(answer(answers.get(copy), copy, round).split("\n"));
                    rootfsPaths.add(lines.get(0));
                    notes.addAll(lines.subList(1, lines.size()));
                }
                assertThat(rootfsPaths)
                        .as("round %d: the rootfs each copy got", round)
                        .containsOnly(rootfsPaths.get(0));
                Path rootfs = Path.of(rootfsPaths.get(0));
                assertThat(rootfs.resolve("usr/lower")).hasContent("from the lower layer");
                assertThat(rootfs.resolve("etc/upper")).hasContent("from the upper layer");
                assertThat(rootfs.resolveSibling("complete")).isRegularFile();
                assertThat(notes)
                        .as("round %d: the notes of all copies", round)
                        .filteredOn(note -> note.startsWith("Unpacked image "))
                        .hasSize(1);
                assertThat(notes)
                        .filteredOn(note -> note.contains(" layer(s), "))
                        .singleElement()
                        .asString()
                        .contains("2 layer(s), 2 unpacked now");
                try (Stream<Path> images = Files.list(cache.resolve("images"));
                        Stream<Path> layers = Files.list(cache.resolve("layers"))) {
                    assertThat(Stream.concat(images, layers)
                                    .map(path -> path.getFileName().toString()))
                            .as("round %d: what the cache holds", round)
                            .noneMatch(name -> name.contains(".tmp"));
                }
                assertThat(cache.resolve("layers")
                                .resolve(TestTars.sha256(lower))
                                .resolve(LayerStore.MARKER))
                        .isRegularFile();
                assertThat(cache.resolve("layers")
                                .resolve(TestTars.sha256(upper))
                                .resolve(LayerStore.MARKER))
                        .isRegularFile();
            }
        } finally {
            pool.shutdownNow();
            LibraryCopyDriver.forgetHandedOut();
            for (URLClassLoader loader : loaders) {
                driver(loader).getMethod("forgetHandedOut").invoke(null);
                loader.close();
            }
        }
        assertThat(openLockFiles())
                .as("lock files still open once every copy let go")
                .isEmpty();
    }

    @Test
    @DisplayName("unpacking one image at once with two other JVMs, the copies and the JVMs store it once")
    void unpackAtOnceWithOtherJvms() throws Exception {
        byte[] layer = TestImages.layer(List.of("opt"), Map.of("opt/only", "from the only layer"));
        Path archive = Files.write(work.resolve("image.tar"), TestImages.dockerSave("{}", layer));
        Path cache = work.resolve("cache");
        Path go = work.resolve("go");
        Files.createDirectories(work.resolve("first"));
        String first = work.resolve("first").toRealPath().resolve("first.lock").toString();
        LibraryCopyDriver.lock("acquireShared", first); // this class loader's copy is the JVM's first, as above
        LibraryCopyDriver.lock("releaseShared", first);
        List<Process> jvms = new ArrayList<>();
        List<URLClassLoader> loaders = List.of(copyOfTheLibrary(), copyOfTheLibrary());
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            for (int i = 0; i < 2; i++) {
                jvms.add(new ProcessBuilder(
                                Path.of(System.getProperty("java.home"), "bin", "java")
                                        .toString(),
                                "-cp",
                                System.getProperty("java.class.path"),
                                LibraryCopyDriver.class.getName(),
                                cache.toString(),
                                archive.toString(),
                                go.toString())
                        .redirectErrorStream(true)
                        .start());
            }
            List<Method> unpackers = new ArrayList<>();
            unpackers.add(LibraryCopyDriver.class.getMethod("unpack", String.class, String.class));
            for (URLClassLoader loader : loaders) {
                unpackers.add(driver(loader).getMethod("unpack", String.class, String.class));
            }
            CountDownLatch started = new CountDownLatch(1);
            List<Future<String>> answers = new ArrayList<>();
            for (Method unpacker : unpackers) {
                answers.add(pool.submit(() -> {
                    started.await();
                    return (String) unpacker.invoke(null, cache.toString(), archive.toString());
                }));
            }
            Files.createFile(go);
            started.countDown();
            List<String> outputs = new ArrayList<>();
            for (int copy = 0; copy < answers.size(); copy++) {
                outputs.add(answer(answers.get(copy), copy, 1));
            }
            for (Process jvm : jvms) {
                String output = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(jvm.waitFor(WAIT_SECONDS, TimeUnit.SECONDS))
                        .as(output)
                        .isTrue();
                assertThat(jvm.exitValue()).as(output).isZero();
                outputs.add(output);
            }
            Path rootfs = Path.of(outputs.get(0).lines().findFirst().orElseThrow());
            assertThat(outputs).allSatisfy(output -> assertThat(output).startsWith(rootfs + "\n"));
            assertThat(rootfs.resolve("opt/only")).hasContent("from the only layer");
            assertThat(String.join("\n", outputs).lines().filter(line -> line.startsWith("Unpacked image ")))
                    .as("what the three copies and the two JVMs said")
                    .hasSize(1);
        } finally {
            pool.shutdownNow();
            jvms.forEach(Process::destroyForcibly);
            LibraryCopyDriver.forgetHandedOut();
            for (URLClassLoader loader : loaders) {
                driver(loader).getMethod("forgetHandedOut").invoke(null);
                loader.close();
            }
        }
    }

    @Test
    @DisplayName("a lock one copy holds keeps the other out as another JVM's would, and shared holds of both coexist")
    void locksExcludeEachOther() throws Exception {
        Files.createDirectories(work.resolve("locks"));
        String file = work.resolve("locks").toRealPath().resolve("one.lock").toString();
        Copy thisOne = new Copy(LibraryCopyDriver.class, file);
        thisOne.lock("acquireShared"); // this class loader's copy locks first, as in the test above
        thisOne.lock("releaseShared");
        try (URLClassLoader loaderOfSecond = copyOfTheLibrary();
                URLClassLoader loaderOfThird = copyOfTheLibrary()) {
            Copy second = new Copy(driver(loaderOfSecond), file);
            Copy third = new Copy(driver(loaderOfThird), file);

            thisOne.lock("acquireShared");
            assertThat(second.lock("tryExclusive"))
                    .as("exclusive while the first copy holds it shared")
                    .isFalse();
            assertTimeoutPreemptively(
                    Duration.ofSeconds(WAIT_SECONDS),
                    () -> second.lock("acquireShared"),
                    "the second copy taking the lock shared beside the first");
            assertThat(third.lock("tryExclusive"))
                    .as("exclusive while both hold it shared")
                    .isFalse();
            second.lock("releaseShared");
            assertThat(ClassicLocks.heldByThisProcess(Path.of(file)))
                    .as("the first copy's lock, once the second let go")
                    .isTrue();
            assertThat(third.lock("tryExclusive"))
                    .as("exclusive while the first copy holds it shared")
                    .isFalse();
            thisOne.lock("releaseShared");

            assertThat(second.lock("tryExclusive")).isTrue();
            assertThat(thisOne.lock("tryExclusive"))
                    .as("exclusive while the second holds it exclusive")
                    .isFalse();
            assertThat(third.lock("tryExclusive"))
                    .as("exclusive while the second holds it exclusive")
                    .isFalse();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<Boolean> shared = pool.submit(() -> thisOne.lock("acquireShared"));
                Awaitility.await()
                        .during(Duration.ofMillis(500))
                        .atMost(Duration.ofSeconds(5))
                        .until(() -> !shared.isDone());
                second.lock("releaseExclusive");
                assertThat(shared.get(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
            } finally {
                pool.shutdownNow();
            }
            assertThat(third.lock("tryExclusive"))
                    .as("exclusive while the first holds it shared")
                    .isFalse();
            thisOne.lock("releaseShared");
            assertThat(third.lock("tryExclusive")).isTrue();
            third.lock("releaseExclusive");
            // The second copy kept its descriptor while the first held the lock; its next use closes it.
            second.lock("acquireShared");
            second.lock("releaseShared");
        }
        assertThat(openLockFiles())
                .as("lock files still open once every copy let go")
                .isEmpty();
    }

    /** One copy's lock of one file. */
    private record Copy(Class<?> driver, String file) {
        boolean lock(String what) throws Exception {
            try {
                return (Boolean)
                        driver.getMethod("lock", String.class, String.class).invoke(null, what, file);
            } catch (InvocationTargetException e) {
                throw e.getCause() instanceof Exception cause ? cause : e;
            }
        }
    }

    /** The files under the test's directory whose name ends with .lock that this JVM has open. */
    private List<Path> openLockFiles() throws IOException {
        List<Path> open = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (target.startsWith(work.toRealPath())
                            && target.toString().endsWith(".lock")) {
                        open.add(target);
                    }
                } catch (IOException e) {
                    // closed meanwhile (the listing's own descriptor)
                }
            }
        }
        return open;
    }

    private static String answer(Future<String> answer, int copy, int round) throws Exception {
        try {
            return answer.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            return fail(
                    "Copy %d of the library still waits for the image after %d s in round %d",
                    copy, WAIT_SECONDS, round);
        } catch (ExecutionException e) {
            Throwable cause =
                    e.getCause() instanceof InvocationTargetException invocation ? invocation.getCause() : e.getCause();
            throw new AssertionError("Copy " + copy + " of the library failed in round " + round + ": " + cause, cause);
        }
    }

    private static Class<?> driver(ClassLoader loader) throws ClassNotFoundException {
        return Class.forName(LibraryCopyDriver.class.getName(), true, loader);
    }

    /** A class loader of its own over this JVM's class path, beside the one that loaded this test. */
    private static URLClassLoader copyOfTheLibrary() throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            urls.add(Path.of(entry).toUri().toURL());
        }
        return new URLClassLoader("library-copy", urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
    }
}
