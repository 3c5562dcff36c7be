package dev.isolated.internal.shard;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which shard (from 1) a top-level test class belongs to, out of {@code total}. A class's shard depends only on its
 * name, the total and the timings, never on which other classes one discovery finds (Surefire with
 * {@code forkCount > 1} discovers class by class). Without timings: a stable hash of the name (SHA-256). With
 * timings: the recorded classes are dealt longest first (equal times by name), each to the shard with the least
 * recorded time so far (equal loads: the lowest shard); a class without a recorded time is placed by its hash.
 */
final class ShardAssignment {
    private final int total;
    private final Map<String, Integer> recorded = new HashMap<>();

    ShardAssignment(int total, Map<String, Double> secondsByClass) {
        this.total = total;
        double[] load = new double[total];
        List<Map.Entry<String, Double>> longestFirst = secondsByClass.entrySet().stream()
                .sorted(Map.Entry.<String, Double>comparingByValue(Comparator.reverseOrder())
                        .thenComparing(Map.Entry.comparingByKey()))
                .toList();
        for (Map.Entry<String, Double> entry : longestFirst) {
            int least = 0;
            for (int shard = 1; shard < total; shard++) {
                if (load[shard] < load[least]) {
                    least = shard;
                }
            }
            load[least] += entry.getValue();
            recorded.put(entry.getKey(), least + 1);
        }
    }

    int shardOf(String topLevelClass) {
        Integer shard = recorded.get(topLevelClass);
        return shard != null ? shard : hashShard(topLevelClass);
    }

    private int hashShard(String name) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        long h = 0;
        for (int i = 0; i < Long.BYTES; i++) {
            h = h << 8 | (digest[i] & 0xff);
        }
        return (int) Long.remainderUnsigned(h, total) + 1;
    }
}
