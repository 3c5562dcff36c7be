package dev.isolated.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReader;
import java.lang.module.ModuleReference;
import java.lang.module.ResolvedModule;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("on the module path the jar is the automatic module dev.isolated")
class ModuleNameTests {

    /** A class of each jar the extension needs at run time (its compile-scope dependencies and theirs). */
    private static final List<String> RUNTIME_CLASSES = List.of(
            "com.sun.jna.Native",
            "org.apache.commons.compress.archivers.tar.TarArchiveInputStream",
            "org.apache.commons.io.IOUtils",
            "org.apache.commons.lang3.StringUtils",
            "org.apache.commons.codec.binary.Hex",
            "org.tukaani.xz.XZInputStream",
            "com.github.luben.zstd.ZstdInputStream",
            "org.junit.jupiter.api.Test",
            "org.junit.platform.commons.util.ReflectionUtils",
            "org.opentest4j.AssertionFailedError",
            "org.apiguardian.api.API",
            "org.assertj.core.api.Assertions",
            "net.bytebuddy.ByteBuddy",
            "org.awaitility.Awaitility",
            "org.hamcrest.Matcher",
            "dev.isolated.internal.json.JsonReader");

    @Test
    @DisplayName("the manifest the jar is built with names the module dev.isolated")
    void manifestNamesTheModule() throws IOException {
        assertThat(manifest().getMainAttributes().getValue("Automatic-Module-Name"))
                .isEqualTo("dev.isolated");
    }

    @Test
    @DisplayName(
            "a jar of these classes with that manifest resolves as module dev.isolated, together with isolated-image (dev.isolated.imagecode), JNA, Commons Compress and the other jars it needs at run time")
    void resolvesOnTheModulePath(@TempDir Path dir) throws IOException {
        Path jar = dir.resolve("isolated-junit.jar");
        writeJar(PublicApi.location(), jar);
        List<Path> path = new ArrayList<>(List.of(jar));
        for (String name : RUNTIME_CLASSES) {
            Path location = jarOf(name);
            if (Files.isDirectory(location)) { // a module of this build, not packaged yet (isolated-image)
                Path packaged = dir.resolve(path.size() + ".jar");
                writeJar(location, packaged);
                location = packaged;
            }
            path.add(location);
        }

        ModuleFinder finder = ModuleFinder.of(path.toArray(Path[]::new));
        Set<String> all =
                finder.findAll().stream().map(m -> m.descriptor().name()).collect(Collectors.toSet());
        Configuration config = ModuleLayer.boot().configuration().resolve(finder, ModuleFinder.of(), all);

        ModuleDescriptor isolated =
                config.findModule("dev.isolated").orElseThrow().reference().descriptor();
        assertThat(isolated.isAutomatic()).isTrue();
        assertThat(isolated.packages())
                .contains("dev.isolated", "dev.isolated.assertj")
                .doesNotContain("dev.isolated.image", "dev.isolated.internal.image"); // no package in two modules
        assertThat(config.modules().stream().map(ResolvedModule::name))
                .contains("com.sun.jna", "org.apache.commons.compress");
        assertThat(config.findModule("dev.isolated.imagecode")
                        .orElseThrow()
                        .reference()
                        .descriptor()
                        .packages())
                .contains(
                        "dev.isolated.image",
                        "dev.isolated.internal.image",
                        "dev.isolated.internal.registry",
                        "dev.isolated.internal.json");

        // A test module that writes only "requires dev.isolated;" reads dev.isolated.image too: a module that reads
        // an automatic module reads every other automatic module (implied readability).
        ModuleReference tests =
                new ModuleReference(
                        ModuleDescriptor.newModule("user.tests")
                                .requires("dev.isolated")
                                .build(),
                        null) {
                    @Override
                    public ModuleReader open() {
                        throw new UnsupportedOperationException("never read: only resolved");
                    }
                };
        ModuleFinder testFinder = new ModuleFinder() {
            @Override
            public Optional<ModuleReference> find(String name) {
                return name.equals("user.tests") ? Optional.of(tests) : Optional.empty();
            }

            @Override
            public Set<ModuleReference> findAll() {
                return Set.of(tests);
            }
        };
        assertThat(config
                        .resolve(testFinder, ModuleFinder.of(), Set.of("user.tests"))
                        .findModule("user.tests")
                        .orElseThrow()
                        .reads()
                        .stream()
                        .map(ResolvedModule::name))
                .contains("dev.isolated", "dev.isolated.imagecode");
    }

    private static Manifest manifest() throws IOException {
        return manifest(PublicApi.location());
    }

    private static Manifest manifest(Path location) throws IOException {
        if (Files.isDirectory(location)) {
            try (InputStream in = Files.newInputStream(location.resolve("META-INF/MANIFEST.MF"))) {
                return new Manifest(in);
            }
        }
        try (FileSystem jar = FileSystems.newFileSystem(location);
                InputStream in = Files.newInputStream(jar.getPath("META-INF/MANIFEST.MF"))) {
            return new Manifest(in);
        }
    }

    /** The classes at {@code location} (a jar or a directory) as a jar with their manifest, as maven-jar-plugin writes. */
    private static void writeJar(Path location, Path jar) throws IOException {
        if (!Files.isDirectory(location)) {
            Files.copy(location, jar);
            return;
        }
        try (OutputStream out = Files.newOutputStream(jar);
                JarOutputStream zip = new JarOutputStream(out, manifest(location));
                Stream<Path> files = Files.walk(location)) {
            for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                String name = location.relativize(file).toString();
                if (name.equals("META-INF/MANIFEST.MF")) {
                    continue;
                }
                zip.putNextEntry(new JarEntry(name));
                Files.copy(file, zip);
                zip.closeEntry();
            }
        }
    }

    private static Path jarOf(String className) {
        try {
            Class<?> type = Class.forName(className, false, ModuleNameTests.class.getClassLoader());
            return Path.of(
                    type.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (ClassNotFoundException | URISyntaxException e) {
            throw new IllegalStateException(className + " is not on the test class path", e);
        }
    }
}
