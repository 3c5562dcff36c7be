package dev.isolated.api;

import dev.isolated.Isolated;
import dev.isolated.image.ImageBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The classes of Isolated's jars (or their class directories, in this build) as a user's compiler sees them: the
 * public types of the public packages, and the internal packages, of isolated-junit and of isolated-image.
 */
final class PublicApi {
    /** The packages users compile against; everything else under {@code dev.isolated} is internal. */
    static final List<String> PACKAGES = List.of("dev.isolated", "dev.isolated.image", "dev.isolated.assertj");

    private PublicApi() {}

    /** @return where {@code dev.isolated} is loaded from: a jar or a class directory */
    static Path location() {
        return location(Isolated.class);
    }

    /** @return where {@code dev.isolated.image} is loaded from (isolated-image): a jar or a class directory */
    static Path imageLocation() {
        return location(ImageBuilder.class);
    }

    private static Path location(Class<?> type) {
        try {
            return Path.of(
                    type.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return every public type of the public packages, top-level and nested (public members of public types) */
    static List<Class<?>> types() {
        List<Class<?>> types = new ArrayList<>();
        for (String pkg : PACKAGES) {
            for (String name : classNames(pkg)) {
                if (!name.contains("$")) {
                    addPublic(load(pkg + "." + name), types);
                }
            }
        }
        return types;
    }

    /** @return the packages under {@code dev.isolated.internal} that hold classes */
    static List<String> internalPackages() {
        return withRoots(root -> {
            Path internal = root.resolve("dev/isolated/internal");
            if (!Files.isDirectory(internal)) {
                return List.of();
            }
            try (Stream<Path> files = Files.walk(internal)) {
                return files.filter(f -> f.toString().endsWith(".class"))
                        .map(Path::getParent)
                        .distinct()
                        .map(dir -> root.relativize(dir).toString().replace('/', '.'))
                        .sorted()
                        .toList();
            }
        });
    }

    private static void addPublic(Class<?> type, List<Class<?>> into) {
        if (!Modifier.isPublic(type.getModifiers())) {
            return;
        }
        into.add(type);
        Stream.of(type.getDeclaredClasses())
                .sorted(Comparator.comparing(Class::getName))
                .forEach(nested -> addPublic(nested, into));
    }

    private static List<String> classNames(String pkg) {
        return withRoots(root -> {
            Path dir = root.resolve(pkg.replace('.', '/'));
            if (!Files.isDirectory(dir)) {
                return List.of();
            }
            try (Stream<Path> files = Files.list(dir)) {
                return files.map(f -> f.getFileName().toString())
                        .filter(n -> n.endsWith(".class"))
                        .filter(n -> !n.equals("package-info.class"))
                        .map(n -> n.substring(0, n.length() - 6))
                        .sorted()
                        .toList();
            }
        });
    }

    static Class<?> load(String name) {
        try {
            return Class.forName(name, false, Isolated.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalStateException(e);
        }
    }

    private interface RootReader<T> {
        T read(Path root) throws IOException;
    }

    /** What {@code reader} reads in each of the two jars, together (sorted, each name once). */
    private static List<String> withRoots(RootReader<List<String>> reader) {
        return Stream.of(location(), imageLocation())
                .distinct()
                .flatMap(location -> withRoot(location, reader).stream())
                .distinct()
                .sorted()
                .toList();
    }

    private static <T> T withRoot(Path location, RootReader<T> reader) {
        try {
            if (Files.isDirectory(location)) {
                return reader.read(location);
            }
            try (FileSystem jar = FileSystems.newFileSystem(location)) {
                return reader.read(jar.getPath("/"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
