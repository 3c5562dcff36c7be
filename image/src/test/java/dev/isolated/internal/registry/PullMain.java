package dev.isolated.internal.registry;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** Pulls one image in a JVM of its own: {@code PullMain <cache dir> <image> <insecure registries>}; prints the layout. */
public final class PullMain {

    private PullMain() {}

    public static void main(String[] args) {
        Map<String, String> configuration = Map.of("isolated.registry.insecure", args[2]);
        Path layout = new ImagePuller(
                        Path.of(args[0]),
                        PullSettings.from(key -> Optional.ofNullable(configuration.get(key)), name -> null))
                .pull(args[1]);
        System.out.println(layout);
    }
}
