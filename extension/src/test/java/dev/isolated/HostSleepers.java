package dev.isolated;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Finds a test's marker processes on the host: {@code sleep SECONDS}, whatever namespace they hide in. */
public final class HostSleepers {
    private HostSleepers() {}

    /**
     * @param n 0 to 99, one per test (a failed test may leave its sleep behind)
     * @return a {@code sleep} duration of this JVM's own: the sleeps of another test run on the machine at the same
     *     time never match it
     */
    public static String ownSeconds(int n) {
        return Long.toString(200_000_000L + ProcessHandle.current().pid() * 100 + n);
    }

    /** @return the host pids of the processes whose command line is {@code sleep SECONDS} */
    public static List<Long> of(String seconds) throws IOException {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
            for (Path entry : (Iterable<Path>) entries::iterator) {
                String name = entry.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String[] argv;
                try {
                    argv = new String(Files.readAllBytes(entry.resolve("cmdline")), StandardCharsets.UTF_8).split("\0");
                } catch (IOException gone) {
                    continue;
                }
                if (argv.length == 2 && argv[0].endsWith("sleep") && argv[1].equals(seconds)) {
                    found.add(Long.parseLong(name));
                }
            }
        }
        return found;
    }
}
