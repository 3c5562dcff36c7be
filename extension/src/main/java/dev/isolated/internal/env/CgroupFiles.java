package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import dev.isolated.ResourceUsage;
import dev.isolated.internal.helper.Fields;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Reads an environment's cgroup counters, v2 ({@code memory.peak}) or v1 ({@code memory.max_usage_in_bytes}). */
final class CgroupFiles {
    private final boolean v2;
    private final Path memory;
    private final Path pids;

    private CgroupFiles(boolean v2, Path memory, Path pids) {
        this.v2 = v2;
        this.memory = memory;
        this.pids = pids;
    }

    /** @return the cgroup the helper reported in CREATED, or null when it made none */
    static CgroupFiles from(Fields created) {
        String version = created.getOrEmpty("cgroup-version");
        if (version.equals("2")) {
            Path dir = Paths.get(created.get("cgroup").orElseThrow());
            return new CgroupFiles(true, dir, dir);
        }
        if (version.equals("1")) {
            return new CgroupFiles(
                    false,
                    created.get("cgroup-memory").map(Paths::get).orElse(null),
                    created.get("cgroup-pids").map(Paths::get).orElse(null));
        }
        return null;
    }

    /** @return the counters; -1 for those whose controller the env's cgroup lacks (v2: not enabled for it) */
    ResourceUsage usage() {
        long current = counter(memory, v2 ? "memory.current" : "memory.usage_in_bytes");
        long peak = v2 && current >= 0 && !Files.exists(memory.resolve("memory.peak"))
                ? current
                : counter(memory, v2 ? "memory.peak" : "memory.max_usage_in_bytes");
        long processes = counter(pids, "pids.current");
        String events = v2 ? "memory.events" : "memory.oom_control";
        long oomKills =
                memory == null || !Files.exists(memory.resolve(events)) ? -1 : keyed(memory, events, "oom_kill");
        return new ResourceUsage(current, peak, processes, oomKills);
    }

    private static long counter(Path dir, String file) {
        return dir == null || !Files.exists(dir.resolve(file))
                ? -1
                : Long.parseLong(read(dir.resolve(file)).strip());
    }

    private static long keyed(Path dir, String file, String key) {
        for (String line : read(dir.resolve(file)).split("\n")) {
            String[] kv = line.trim().split("\\s+");
            if (kv.length == 2 && kv[0].equals(key)) {
                return Long.parseLong(kv[1]);
            }
        }
        return 0;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IsolatedException("Cannot read the environment's cgroup file " + file + ": " + e, e);
        }
    }
}
