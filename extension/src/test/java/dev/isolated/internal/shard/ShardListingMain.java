package dev.isolated.internal.shard;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A child JVM for {@link ShardFilterTests}: discovers the fixture suite with the {@code key=value} arguments as
 * configuration parameters (and this JVM's system properties and environment, as a build tool's launcher does)
 * and prints one kept test per line, or {@code ERROR <message>}.
 */
public final class ShardListingMain {
    private ShardListingMain() {
    }

    public static void main(String[] args) {
        Map<String, String> configuration = new HashMap<>();
        for (String kv : Arrays.asList(args)) {
            configuration.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        try {
            ShardDiscovery.tests(configuration, true).forEach(System.out::println);
        } catch (RuntimeException e) {
            System.out.println("ERROR " + e.getMessage());
        }
    }
}
