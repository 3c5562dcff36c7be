package dev.isolated.internal.helper;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Lines added to /etc/subuid and /etc/subgid for one test; close() puts both back byte for byte (or absent). */
final class TemporarySubIds implements AutoCloseable {
    private static final List<Path> FILES = List.of(Path.of("/etc/subuid"), Path.of("/etc/subgid"));

    private final Map<Path, byte[]> before = new LinkedHashMap<>();

    private TemporarySubIds() {
    }

    /** @return whether either file has a line for one of {@code owners} (a user name or uid) */
    static boolean hasRange(String... owners) throws IOException {
        for (Path file : FILES) {
            for (String owner : owners) {
                if (Files.exists(file) && Files.readAllLines(file).stream().anyMatch(l -> l.startsWith(owner + ":"))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** @param lines e.g. {@code nobody:200000:65536}, added to both files */
    static TemporarySubIds add(String... lines) throws IOException {
        TemporarySubIds added = new TemporarySubIds();
        try {
            for (Path file : FILES) {
                byte[] old = Files.exists(file) ? Files.readAllBytes(file) : null;
                added.before.put(file, old);
                String text = old == null ? "" : new String(old, UTF_8);
                Files.writeString(file, (text.isEmpty() || text.endsWith("\n") ? text : text + "\n") + String.join("\n", lines) + "\n");
            }
        } catch (IOException | RuntimeException e) {
            added.close();
            throw e;
        }
        return added;
    }

    @Override
    public void close() throws IOException {
        for (Map.Entry<Path, byte[]> file : before.entrySet()) {
            if (file.getValue() == null) {
                Files.deleteIfExists(file.getKey());
            } else {
                Files.write(file.getKey(), file.getValue());
            }
        }
    }
}
