package dev.isolated.api;

import dev.isolated.Isolated;
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
 * The classes of Isolated's jar (or its class directory, in this build) as a user's compiler sees them: the public
 * types of the public packages, and the internal packages.
 */
final class PublicApi {
    /** The packages users compile against; everything else under {@code dev.isolated} is internal. */
    static final List<String> PACKAGES = List.of("dev.isolated", "dev.isolated.image", "dev.isolated.assertj");

    private PublicApi() {}

    /** @return where {@code dev.isolated} is loaded from: a jar or a class directory */
    static Path location() {
        try {
            return Path.of(Isolated.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
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
        return withRoot(root -> {
            Path internal = root.resolve("dev/isolated/internal");
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
        return withRoot(root -> {
            try (Stream<Path> files = Files.list(root.resolve(pkg.replace('.', '/')))) {
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

    private static <T> T withRoot(RootReader<T> reader) {
        Path location = location();
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
