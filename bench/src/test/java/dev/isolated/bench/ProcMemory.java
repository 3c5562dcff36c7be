package dev.isolated.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Memory figures of a process or the host, in KiB, from /proc. */
final class ProcMemory {
    private ProcMemory() {}

    /**
     * @param pid a process
     * @return its resident set size (VmRSS)
     * @throws IOException when /proc cannot be read
     */
    static long rssKib(long pid) throws IOException {
        return field(Path.of("/proc", Long.toString(pid), "status"), "VmRSS:");
    }

    /**
     * @param pid a process
     * @return its proportional set size (shared pages divided among their users)
     * @throws IOException when /proc cannot be read
     */
    static long pssKib(long pid) throws IOException {
        return field(Path.of("/proc", Long.toString(pid), "smaps_rollup"), "Pss:");
    }

    private static long field(Path file, String key) throws IOException {
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException(file + " has no " + key);
    }
}
