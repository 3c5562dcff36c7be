package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArchiveDigestsTests {
    private static final String SHA_A = "a".repeat(64);
    private static final String SHA_B = "0123456789abcdef".repeat(4);

    @TempDir
    Path dir;

    @AfterEach
    void forget() {
        ArchiveDigests.forgetInMemory();
    }

    @Test
    @DisplayName("a new JVM finds an archive's digest in an index of many lines, without hashing it again")
    void remembersAcrossJvms() throws IOException {
        Path tar = dir.resolve("rootfs é.tar"); // a description that is not ASCII
        Files.write(tar, "some bytes".getBytes(StandardCharsets.UTF_8));
        Path index = dir.resolve("image-digests");
        StringBuilder others = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            others.append("v1 1 ")
                    .append(i)
                    .append(" 10 5 6 ")
                    .append(SHA_B)
                    .append(" file /other/")
                    .append(i)
                    .append('\n');
        }
        String key = FileIdentity.of(tar).format() + " file " + tar;
        Path shard = new ArchiveDigests(index).shardOf(key);
        Files.createDirectories(index);
        Files.writeString(shard, others);
        AtomicInteger opens = new AtomicInteger();
        ImageSource.Archive archive = new ImageSource.Archive(
                "file " + tar,
                () -> {
                    opens.incrementAndGet();
                    return Files.newInputStream(tar);
                },
                tar,
                null);

        String digest = new ArchiveDigests(index).sha256(archive);
        ArchiveDigests.forgetInMemory();
        String again = new ArchiveDigests(index).sha256(archive);

        assertThat(digest).isEqualTo(TestTars.sha256("some bytes".getBytes(StandardCharsets.UTF_8)));
        assertThat(again).isEqualTo(digest);
        assertThat(opens.get()).as("times the archive was read").isEqualTo(1);
        assertThat(shard).content().endsWith(" " + digest + " file " + tar + "\n");
    }

    @Test
    @DisplayName("the index lookup takes the first whole line of the exact identity and description")
    void findsExactLine() {
        String index = "v1 1 2 3 4 5 " + SHA_B + " file /a.tar.old\n"
                + "v1 11 2 3 4 5 " + SHA_B + " file /a.tar\n"
                + "v1 1 2 3 4 5 " + SHA_A + " file /a.tar\n"
                + "v1 1 2 3 4 5 " + SHA_B + " file /a.tar\n";

        assertThat(ArchiveDigests.find(index, "1 2 3 4 5 file /a.tar")).isEqualTo(SHA_A);
        assertThat(ArchiveDigests.find(index, "1 2 3 4 5 file /a")).isNull();
        assertThat(ArchiveDigests.find(index, "1 2 3 4 6 file /a.tar")).isNull();
    }

    @Test
    @DisplayName("a torn line (a crash while appending) or a damaged digest is not remembered")
    void tornLines() {
        assertThat(ArchiveDigests.find("v1 1 2 3 4 5 " + SHA_A + " file /a.tar", "1 2 3 4 5 file /a.tar"))
                .isNull();
        assertThat(ArchiveDigests.find(
                        "v1 1 2 3 4 5 " + SHA_A.substring(9) + " file /a.tar\n", "1 2 3 4 5 file /a.tar"))
                .isNull();
        assertThat(ArchiveDigests.find(
                        "v1 1 2 3 4 5 " + SHA_A.replace('a', 'A') + " file /a.tar\n", "1 2 3 4 5 file /a.tar"))
                .isNull();
    }

    @Test
    @DisplayName("a digest another JVM remembered is taken from the index without reading the archive")
    void takesAnotherJvmsLine() throws IOException {
        Path tar = dir.resolve("a.tar");
        Files.write(tar, "bytes".getBytes(StandardCharsets.UTF_8));
        Path index = dir.resolve("image-digests");
        ImageSource.Archive archive = new ImageSource.Archive(
                "file " + tar,
                () -> {
                    throw new IOException("read although remembered");
                },
                tar,
                null);
        String key = FileIdentity.of(tar).format();
        Files.createDirectories(index);
        Files.writeString(
                new ArchiveDigests(index).shardOf(key + " file " + tar),
                "v1 " + key + " " + SHA_A + " file " + tar + "\n",
                StandardOpenOption.CREATE);

        assertThat(new ArchiveDigests(index).sha256(archive)).isEqualTo(SHA_A);
    }

    @Test
    @DisplayName("digests are spread over small index files, a new JVM finds each, and the old single index goes")
    void spreadOverShards() throws IOException {
        Path index = dir.resolve("image-digests");
        Path legacy = dir.resolve("image-digests.index");
        Files.writeString(legacy, "v1 1 2 3 4 5 " + SHA_A + " file /old.tar\n");
        Map<Path, String> digests = new LinkedHashMap<>();
        for (int i = 0; i < 200; i++) {
            Path tar = dir.resolve("t" + i + ".tar");
            Files.writeString(tar, "bytes " + i);
            digests.put(tar, new ArchiveDigests(index).sha256(archive(tar, true)));
        }
        ArchiveDigests.forgetInMemory();

        for (Map.Entry<Path, String> e : digests.entrySet()) {
            assertThat(new ArchiveDigests(index).sha256(archive(e.getKey(), false)))
                    .isEqualTo(e.getValue())
                    .isEqualTo(TestTars.sha256(Files.readAllBytes(e.getKey())));
        }
        try (Stream<Path> shards = Files.list(index)) {
            assertThat(shards.count()).isGreaterThan(1).isLessThanOrEqualTo(ArchiveDigests.SHARDS);
        }
        assertThat(legacy).doesNotExist();
    }

    @Test
    @DisplayName("an index file grown past its limit is started afresh, the others are kept")
    void fullShardStartsAfresh() throws IOException {
        Path index = dir.resolve("image-digests");
        Path tar = dir.resolve("a.tar");
        Files.writeString(tar, "bytes");
        String key = FileIdentity.of(tar).format() + " file " + tar;
        ArchiveDigests digests = new ArchiveDigests(index);
        Path shard = digests.shardOf(key);
        Path other = index.resolve(
                (Integer.parseInt(shard.getFileName().toString().replace(".index", "")) + 1) % ArchiveDigests.SHARDS
                        + ".index");
        Files.createDirectories(index);
        Files.writeString(shard, ("v1 1 2 3 4 5 " + SHA_B + " file /other.tar\n").repeat(300));
        Files.writeString(other, "v1 1 2 3 4 5 " + SHA_B + " file /kept.tar\n");

        String digest = digests.sha256(archive(tar, true));

        assertThat(shard).hasContent("v1 " + FileIdentity.of(tar).format() + " " + digest + " file " + tar);
        assertThat(other).hasContent("v1 1 2 3 4 5 " + SHA_B + " file /kept.tar");
    }

    private static ImageSource.Archive archive(Path tar, boolean readable) {
        return new ImageSource.Archive(
                "file " + tar,
                () -> {
                    if (!readable) {
                        throw new IOException("read although remembered");
                    }
                    return Files.newInputStream(tar);
                },
                tar,
                null);
    }
}
