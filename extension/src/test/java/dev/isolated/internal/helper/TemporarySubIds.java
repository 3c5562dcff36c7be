package dev.isolated.internal.helper;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * /etc/subuid and /etc/subgid changed for one test (lines added, or an owner's lines removed); close() puts both
 * back byte for byte (or absent), so a test controls the ranges instead of depending on the machine's.
 */
public final class TemporarySubIds implements AutoCloseable {
    private static final List<Path> FILES = List.of(Path.of("/etc/subuid"), Path.of("/etc/subgid"));

    private final Map<Path, byte[]> before = new LinkedHashMap<>();

    private TemporarySubIds() {}

    /** @param owners user names or uids whose lines are removed from both files for the test */
    public static TemporarySubIds without(String... owners) throws IOException {
        return replacing(List.of(owners));
    }

    /**
     * @param owners user names or uids whose lines are removed from both files for the test
     * @param lines lines then added to both, e.g. {@code nobody:200000:65536}
     */
    public static TemporarySubIds replacing(List<String> owners, String... lines) throws IOException {
        return rewrite(text -> text.lines()
                        .filter(line -> owners.stream().noneMatch(o -> line.startsWith(o + ":")))
                        .map(line -> line + "\n")
                        .collect(Collectors.joining())
                + Arrays.stream(lines).map(line -> line + "\n").collect(Collectors.joining()));
    }

    /** Runs BODY with the files changed as CHANGE says, then puts them back. */
    public static <T> T during(TemporarySubIds change, Callable<T> body) throws Exception {
        try {
            return body.call();
        } finally {
            change.close();
        }
    }

    private static TemporarySubIds rewrite(UnaryOperator<String> change) throws IOException {
        TemporarySubIds changed = new TemporarySubIds();
        try {
            for (Path file : FILES) {
                byte[] old = Files.exists(file) ? Files.readAllBytes(file) : null;
                changed.before.put(file, old);
                Files.writeString(file, change.apply(old == null ? "" : new String(old, UTF_8)));
            }
        } catch (IOException | RuntimeException e) {
            changed.close();
            throw e;
        }
        return changed;
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
