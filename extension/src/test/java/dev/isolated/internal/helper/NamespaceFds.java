package dev.isolated.internal.helper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The namespaces a process holds open by fd, as the helper holds a network's switch or user namespace. */
public final class NamespaceFds {
    private NamespaceFds() {}

    /**
     * @param pid the process
     * @param kind {@code net}, {@code user}, ...
     * @return the process's open fds of KIND namespaces ({@code net:[...]}), without the one it is in
     */
    public static List<String> of(long pid, String kind) throws IOException {
        Path proc = Path.of("/proc", Long.toString(pid));
        String own = Files.readSymbolicLink(proc.resolve("ns").resolve(kind)).toString();
        try (Stream<Path> fds = Files.list(proc.resolve("fd"))) {
            return fds.map(fd -> {
                        try {
                            return Files.readSymbolicLink(fd).toString();
                        } catch (IOException closedMeanwhile) {
                            return "";
                        }
                    })
                    .filter(link -> link.startsWith(kind + ":[") && !link.equals(own))
                    .toList();
        }
    }
}
