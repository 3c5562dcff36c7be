package dev.isolated.images.build;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.images.TarListing;
import dev.isolated.internal.tar.ReproducibleTarWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ReproducibleTarWriterTests {

    private static final Instant MTIME = Instant.parse("2026-01-01T00:00:00Z");

    @Test
    @DisplayName("long and non-ASCII names and link targets survive through PAX headers")
    void longNames() throws IOException {
        String longDir = "d".repeat(120);
        String longLink = "../".repeat(40) + "target";
        ImageContents contents = new ImageContents()
                .file(longDir + "/file", 0644, "x".getBytes(StandardCharsets.US_ASCII))
                .symlink("link", longLink)
                .file("caf\u00e9", 0600, new byte[0]);

        List<TarArchiveEntry> entries = TarListing.read(new ByteArrayInputStream(write(contents)));

        assertThat(entries)
                .extracting(TarArchiveEntry::getName)
                .containsExactly("caf\u00e9", longDir + "/", longDir + "/file", "link");
        assertThat(entries.get(3).getLinkName()).isEqualTo(longLink);
        assertThat(entries.get(0).getMode()).isEqualTo(0600);
    }

    @Test
    @DisplayName("the archive is a whole number of 10240-byte records")
    void padded() throws IOException {
        byte[] tar = write(new ImageContents().file("a", 0644, new byte[700]));

        assertThat(tar.length % ReproducibleTarWriter.RECORD).isZero();
    }

    @Test
    @DisplayName("set-uid, set-gid and sticky bits are kept")
    void specialBits() throws IOException {
        ImageContents contents = new ImageContents().directory("tmp", 01777).file("su", 04755, new byte[1]);

        List<TarArchiveEntry> entries = TarListing.read(new ByteArrayInputStream(write(contents)));

        assertThat(entries).extracting(TarArchiveEntry::getMode).containsExactly(04755, 01777);
    }

    private static byte[] write(ImageContents contents) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new ReproducibleTarWriter(MTIME).write(contents.entries(), out);
        return out.toByteArray();
    }
}
