package dev.isolated.images;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.images.build.ImageBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The images as a test sees them: classpath resources at the root. */
class BundledImagesTests {

    private static final Instant MTIME =
            ImageBuilder.parseMtime(System.getProperty("isolated.images.mtime", "2026-01-01T00:00:00Z"));

    @Test
    @DisplayName("busybox.tar holds busybox, its applets as symlinks, /etc files and mount points")
    void busyboxImage() throws IOException {
        Map<String, TarArchiveEntry> entries = byName(entries("busybox.tar"));

        assertThat(entries.get("bin/busybox")).satisfies(busybox -> {
            assertThat(busybox.isFile()).isTrue();
            assertThat(busybox.getMode()).isEqualTo(0755);
            assertThat(busybox.getSize()).isPositive();
        });
        assertThat(entries.get("bin/sh")).satisfies(sh -> {
            assertThat(sh.isSymbolicLink()).isTrue();
            assertThat(sh.getLinkName()).isEqualTo("busybox");
        });
        assertThat(entries.get("usr/bin/env").getLinkName()).isEqualTo("../../bin/busybox");
        assertThat(entries.get("sbin/ip").getLinkName()).isEqualTo("../bin/busybox");
        assertThat(entries)
                .containsKeys(
                        "proc/",
                        "dev/",
                        "sys/",
                        "tmp/",
                        "root/",
                        "etc/",
                        "etc/passwd",
                        "etc/group",
                        "etc/hostname",
                        "usr/",
                        "usr/bin/",
                        "usr/sbin/",
                        "bin/",
                        "sbin/");
        assertThat(entries.get("proc/").isDirectory()).isTrue();
        assertThat(entries.get("tmp/").getMode()).isEqualTo(01777);
        assertThat(entries.get("root/").getMode()).isEqualTo(0700);
        assertThat(new String(content("busybox.tar", "etc/passwd"), StandardCharsets.US_ASCII))
                .startsWith("root:x:0:0:root:/root:/bin/sh\n")
                .contains("nobody:x:65534:65534:");
    }

    @Test
    @DisplayName("busybox.tar holds what the README's 'The shipped images' says, and nothing else")
    void busyboxImageIsWhatTheReadmeSays() throws IOException {
        Map<String, TarArchiveEntry> entries = byName(entries("busybox.tar"));
        Map<Boolean, List<String>> appletOrNot = entries.values().stream()
                .collect(Collectors.partitioningBy(
                        entry -> entry.isSymbolicLink() && entry.getLinkName().endsWith("bin/busybox")
                                || entry.isSymbolicLink() && entry.getLinkName().equals("busybox"),
                        Collectors.mapping(TarArchiveEntry::getName, Collectors.toList())));

        assertThat(appletOrNot.get(false))
                .containsExactlyInAnyOrder(
                        "bin/",
                        "bin/busybox",
                        "dev/",
                        "etc/",
                        "etc/group",
                        "etc/hostname",
                        "etc/passwd",
                        "proc/",
                        "root/",
                        "sbin/",
                        "sys/",
                        "tmp/",
                        "usr/",
                        "usr/bin/",
                        "usr/sbin/");
        List<String> applets = appletOrNot.get(true).stream()
                .map(name -> name.substring(name.lastIndexOf('/') + 1))
                .toList();
        assertThat(applets)
                .hasSizeGreaterThan(200)
                .contains("sh", "ls", "ps", "ip", "wget", "nc", "httpd", "vi")
                .doesNotContain("adduser", "addgroup", "useradd", "groupadd", "apt", "apt-get");
        assertThat(new String(content("busybox.tar", "etc/passwd"), StandardCharsets.US_ASCII)
                        .lines()
                        .map(line -> line.substring(0, line.indexOf(':'))))
                .containsExactly("root", "nobody");
        assertThat(new String(content("busybox.tar", "etc/group"), StandardCharsets.US_ASCII)
                        .lines()
                        .map(line -> line.substring(0, line.indexOf(':'))))
                .containsExactly("root", "nogroup");
        assertThat(entries.get("sys/").getMode()).isEqualTo(0755);
    }

    @Test
    @DisplayName("every parent of an entry has its own directory entry")
    void parentsHaveEntries() throws IOException {
        Map<String, TarArchiveEntry> entries = byName(entries("busybox.tar"));

        for (String name : entries.keySet()) {
            String path = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
            for (int slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', slash + 1)) {
                assertThat(entries).as("parent of " + name).containsKey(path.substring(0, slash + 1));
            }
        }
    }

    @Test
    @DisplayName("hello.tar holds exactly /hello, executable")
    void helloImage() throws IOException {
        List<TarArchiveEntry> entries = entries("hello.tar");

        assertThat(entries).extracting(TarArchiveEntry::getName).containsExactly("hello");
        assertThat(entries.get(0).isFile()).isTrue();
        assertThat(entries.get(0).getMode()).isEqualTo(0755);
    }

    @Test
    @DisplayName("entries are sorted, owned by root:root (0:0) and share one fixed mtime")
    void normalisedMetadata() throws IOException {
        for (String image : List.of("busybox.tar", "hello.tar")) {
            List<TarArchiveEntry> entries = entries(image);

            assertThat(entries).extracting(TarArchiveEntry::getName).as(image).isSorted();
            assertThat(entries).as(image).allSatisfy(entry -> {
                assertThat(entry.getLongUserId()).isZero();
                assertThat(entry.getLongGroupId()).isZero();
                assertThat(entry.getUserName()).isEqualTo("root");
                assertThat(entry.getGroupName()).isEqualTo("root");
                assertThat(entry.getLastModifiedTime().toInstant()).isEqualTo(MTIME);
            });
        }
    }

    private static List<TarArchiveEntry> entries(String resource) throws IOException {
        try (InputStream in = open(resource)) {
            return TarListing.read(in);
        }
    }

    private static byte[] content(String resource, String name) throws IOException {
        try (InputStream in = open(resource)) {
            return TarListing.content(in, name);
        }
    }

    private static InputStream open(String resource) {
        InputStream in = BundledImagesTests.class.getClassLoader().getResourceAsStream(resource);
        assertThat(in).as("classpath resource " + resource).isNotNull();
        return in;
    }

    private static Map<String, TarArchiveEntry> byName(List<TarArchiveEntry> entries) {
        return entries.stream().collect(Collectors.toMap(TarArchiveEntry::getName, Function.identity()));
    }
}
