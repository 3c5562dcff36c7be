package dev.isolated.testvm;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;

/** Writes a gzip-compressed {@code newc} cpio archive, the format the kernel unpacks as its initramfs. */
final class Initramfs implements AutoCloseable {
    private final CpioArchiveOutputStream cpio;

    /** @param target the file to write */
    Initramfs(Path target) throws IOException {
        OutputStream out = new GZIPOutputStream(Files.newOutputStream(target));
        cpio = new CpioArchiveOutputStream(out, CpioConstants.FORMAT_NEW);
    }

    /** Adds a directory (0755). */
    Initramfs directory(String name) throws IOException {
        CpioArchiveEntry entry = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name, 0);
        entry.setMode(CpioConstants.C_ISDIR | 0755);
        entry.setNumberOfLinks(2);
        cpio.putArchiveEntry(entry);
        cpio.closeArchiveEntry();
        return this;
    }

    /** Adds a regular file with the given permission bits (e.g. {@code 0755}). */
    Initramfs file(String name, byte[] content, int permissions) throws IOException {
        CpioArchiveEntry entry = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, name, content.length);
        entry.setMode(CpioConstants.C_ISREG | permissions);
        entry.setNumberOfLinks(1);
        cpio.putArchiveEntry(entry);
        cpio.write(content);
        cpio.closeArchiveEntry();
        return this;
    }

    /** Adds a copy of a host file. */
    Initramfs copy(String name, Path source, int permissions) throws IOException {
        return file(name, Files.readAllBytes(source), permissions);
    }

    /** Adds a text file. */
    Initramfs text(String name, String content, int permissions) throws IOException {
        return file(name, content.getBytes(UTF_8), permissions);
    }

    @Override
    public void close() throws IOException {
        cpio.close();
    }
}
