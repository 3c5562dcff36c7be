package dev.isolated;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Processes of uid 65534 that a {@link NobodyJvm} child left behind. Other test runs on the machine may run as
 * 65534 at the same time, so only new processes that are provably the child's count: run from a file under its
 * directory (its helper, the inits), or with a marker in their command line (a command it started).
 */
final class RootlessLeftovers {
    private RootlessLeftovers() {}

    /** @return the pids of uid 65534's processes now */
    static Set<Long> processesOfNobody() throws IOException {
        try (Stream<Path> entries = Files.list(Paths.get("/proc"))) {
            return entries.filter(p -> p.getFileName().toString().matches("\\d+"))
                    .filter(RootlessLeftovers::ofNobody)
                    .map(p -> Long.parseLong(p.getFileName().toString()))
                    .collect(Collectors.toSet());
        }
    }

    /**
     * @param before {@link #processesOfNobody()} before the child started
     * @param dir the child's directory (its class path, home and caches)
     * @param marker a string in the command line of every command the child started in an environment
     * @return the leftovers, as {@code pid exe cmdline}
     */
    static List<String> find(Set<Long> before, Path dir, String marker) throws IOException {
        return processesOfNobody().stream()
                .filter(pid -> !before.contains(pid))
                .map(RootlessLeftovers::describe)
                .filter(line -> line.contains(dir.toString()) || line.contains(marker))
                .toList();
    }

    private static boolean ofNobody(Path proc) {
        try {
            return Files.readAllLines(proc.resolve("status")).stream()
                    .anyMatch(line -> line.matches("Uid:\\s+" + NobodyJvm.NOBODY + "\\s.*"));
        } catch (IOException gone) {
            return false;
        }
    }

    private static String describe(long pid) {
        Path proc = Paths.get("/proc", Long.toString(pid));
        try {
            String cmdline =
                    new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
            return pid + " " + Files.readSymbolicLink(proc.resolve("exe")) + " " + cmdline;
        } catch (IOException gone) {
            return "";
        }
    }
}
