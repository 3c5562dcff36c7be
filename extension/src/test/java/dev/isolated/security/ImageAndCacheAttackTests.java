package dev.isolated.security;

import static dev.isolated.security.Attacks.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.internal.image.CacheDirectory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image and cache attacks: a hostile image (a tar or docker-save archive a test is given) tries to write
 * outside its root while unpacking, to plant device nodes, or to leave set-uid files in the shared cache for
 * another local user. Each attack is a real archive passed to {@code IsolatedEnvironment.builder().rootfs(path)}.
 */
@DisplayName("security: image and cache attacks")
class ImageAndCacheAttackTests {

    @TempDir
    Path dir;

    /** A tar of: a harmless /ok file, then the hostile entries. */
    private Path tar(String name, Entry... entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream out = new TarArchiveOutputStream(bytes)) {
            out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            byte[] ok = "ok\n".getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry("ok");
            e.setSize(ok.length);
            out.putArchiveEntry(e);
            out.write(ok);
            out.closeArchiveEntry();
            for (Entry entry : entries) {
                entry.write(out);
            }
        }
        return Files.write(dir.resolve(name), bytes.toByteArray());
    }

    interface Entry {
        void write(TarArchiveOutputStream out) throws IOException;
    }

    private static Entry file(String name, String content, int mode) {
        return out -> {
            byte[] data = content.getBytes(StandardCharsets.UTF_8);
            TarArchiveEntry e = new TarArchiveEntry(name, true);
            e.setSize(data.length);
            e.setMode(mode);
            out.putArchiveEntry(e);
            out.write(data);
            out.closeArchiveEntry();
        };
    }

    private static Entry link(String name, String target, byte type) {
        return out -> {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true);
            e.setLinkName(target);
            out.putArchiveEntry(e);
            out.closeArchiveEntry();
        };
    }

    private static Entry device(String name, byte type, int major, int minor) {
        return out -> {
            TarArchiveEntry e = new TarArchiveEntry(name, type, true);
            e.setDevMajor(major);
            e.setDevMinor(minor);
            e.setMode(0666);
            out.putArchiveEntry(e);
            out.closeArchiveEntry();
        };
    }

    private Path victim() throws IOException {
        Path victim = Files.createDirectories(dir.resolve("victim"));
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwxrwxrwx"));
        return victim;
    }

    private void refused(Path image, String entry, Path victim) throws IOException {
        assertThatThrownBy(() -> IsolatedEnvironment.builder().rootfs(image).start())
                .hasMessageContaining("Image ")
                .hasMessageContaining(entry);
        try (var files = Files.list(victim)) {
            assertThat(files).as("nothing written outside the root").isEmpty();
        }
    }

    @Test
    @DisplayName("a ../ entry is refused, naming it, and nothing lands outside the root")
    void dotDot() throws IOException {
        Path victim = victim();
        String entry = "../".repeat(30) + victim.toString().substring(1) + "/pwned";
        refused(tar("dotdot.tar", file(entry, "pwned", 0644)), "pwned", victim);
    }

    @Test
    @DisplayName("an absolute entry is refused, naming it")
    void absolute() throws IOException {
        Path victim = victim();
        refused(tar("absolute.tar", file(victim + "/pwned", "pwned", 0644)), "pwned", victim);
    }

    @Test
    @DisplayName("a write through a symlink to a host directory is refused, naming it")
    void throughAbsoluteSymlink() throws IOException {
        Path victim = victim();
        refused(
                tar(
                        "symlink.tar",
                        link("evil", victim.toString(), TarArchiveEntry.LF_SYMLINK),
                        file("evil/pwned", "pwned", 0644)),
                "evil",
                victim);
    }

    @Test
    @DisplayName("a write through a relative symlink climbing out (up -> ../../..) is refused, naming it")
    void throughRelativeSymlink() throws IOException {
        Path victim = victim();
        refused(
                tar(
                        "relsymlink.tar",
                        link("up", "../".repeat(30) + victim.toString().substring(1), TarArchiveEntry.LF_SYMLINK),
                        file("up/pwned", "pwned", 0644)),
                "up",
                victim);
    }

    @Test
    @DisplayName("a hardlink to a host file outside the root is refused, naming it")
    void hardlinkOutside() throws IOException {
        Path secret = Attacks.hostSecret();
        Path victim = victim();
        refused(
                tar(
                        "hardlink.tar",
                        link("stolen", "../".repeat(30) + secret.toString().substring(1), TarArchiveEntry.LF_LINK)),
                "stolen",
                victim);
    }

    @Test
    @DisplayName("an entry that claims 5 GiB (over isolated.image.maxBytes) is refused before it fills the disk")
    void sizeBomb() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TarArchiveOutputStream out = new TarArchiveOutputStream(bytes);
        TarArchiveEntry e = new TarArchiveEntry("bomb");
        e.setSize(5L << 30);
        out.putArchiveEntry(e);
        out.write(new byte[4096]);
        out.flush();
        Path image = Files.write(dir.resolve("bomb.tar"), bytes.toByteArray());
        assertThatThrownBy(() -> IsolatedEnvironment.builder().rootfs(image).start())
                .hasMessageContaining("Image ")
                .hasMessageContaining("bomb");
    }

    @Test
    @DisplayName("device nodes in an image are never created, not even as root: the environment has only its own /dev")
    void deviceNodes() throws IOException {
        Path image = tar(
                "devices.tar",
                device("evil/mem", TarArchiveEntry.LF_CHR, 1, 1),
                device("evil/sda", TarArchiveEntry.LF_BLK, 8, 0));
        Path unpacked = unpackedRoot(image);
        assertThat(unpacked.resolve("ok")).exists();
        assertThat(unpacked.resolve("evil/mem")).doesNotExist();
        assertThat(unpacked.resolve("evil/sda")).doesNotExist();
    }

    /** Starts (and closes) an environment from IMAGE so that it is unpacked; @return its unpacked root in the cache */
    private static Path unpackedRoot(Path image) throws IOException {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(image).start()) {
            assertThat(env.initHostPid()).isPositive();
        }
        return CacheDirectory.resolve()
                .resolve("images")
                .resolve(sha256(Files.readAllBytes(image)))
                .resolve("rootfs");
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    @DisplayName(
            "a set-uid-root file of an image in the cache: as root no other local user reaches it; rootless its bit is dropped")
    void setUidInCache() throws Exception {
        Path image = tar("suid.tar", file("suid", "#!/bin/sh\nid\n", 04755));
        Path root = unpackedRoot(image);
        if (Attacks.root()) {
            assertThat(Files.getPosixFilePermissions(root.resolve("suid")))
                    .contains(java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE);
            Process other = new ProcessBuilder(
                            "setpriv",
                            "--reuid=65534",
                            "--regid=65534",
                            "--clear-groups",
                            "sh",
                            "-c",
                            "echo probe-ran; stat " + root.resolve("suid") + "; echo rc=$?")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(other.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(other.waitFor()).isZero();
            assertThat(out).startsWith("probe-ran").contains("Permission denied", "rc=1");
        } else {
            assertThat(Files.getAttribute(root.resolve("suid"), "unix:mode"))
                    .matches(m -> ((Integer) m & 06000) == 0, "no set-uid or set-gid bit");
        }
    }

    @Test
    @DisplayName("the cache's directories (root, images/, each image) are 0700: no other user can enter them")
    void cacheModes() throws Exception {
        Path root = unpackedRoot(tar("modes.tar"));
        for (Path p :
                new Path[] {CacheDirectory.resolve(), CacheDirectory.resolve().resolve("images"), root.getParent()}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p)))
                    .as(p.toString())
                    .isEqualTo("rwx------");
        }
    }

    @Test
    @DisplayName("a docker-save manifest.json naming a layer outside the archive (../) is refused")
    void manifestEscape() throws IOException {
        Path victim = victim();
        Path outsideLayer = tar("outside-layer.tar", file("planted", "from outside\n", 0644));
        String manifest = "[{\"Config\":\"config.json\",\"RepoTags\":[\"evil:1\"],\"Layers\":[\"" + "../".repeat(30)
                + outsideLayer.toString().substring(1) + "\"]}]";
        Path image = tar("manifest.tar", file("manifest.json", manifest, 0644), file("config.json", "{}", 0644));
        assertThatThrownBy(() -> IsolatedEnvironment.builder().rootfs(image).start())
                .hasMessageContaining("Image ");
        try (var files = Files.list(victim)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    @DisplayName("a docker-save layer that is a symlink to a host tar is refused")
    void layerSymlinkOutside() throws IOException {
        Path outsideLayer = tar("outside-layer2.tar", file("planted", "from outside\n", 0644));
        String manifest = "[{\"Config\":\"config.json\",\"RepoTags\":[\"evil:1\"],\"Layers\":[\"abc/layer.tar\"]}]";
        Path image = tar(
                "layerlink.tar",
                file("manifest.json", manifest, 0644),
                file("config.json", "{}", 0644),
                link("abc/layer.tar", outsideLayer.toString(), TarArchiveEntry.LF_SYMLINK));
        assertThatThrownBy(() -> IsolatedEnvironment.builder().rootfs(image).start())
                .hasMessageContaining("Image ")
                .hasMessageContaining("layer.tar");
    }

    @Test
    @DisplayName("an image's set-uid file runs without privilege inside (no_new_privs)")
    void setUidImageFileInside() throws Exception {
        if (!Attacks.root()) {
            // rootless: only uid 0 is mapped, and unpacking as another user drops the bits (setUidInCache)
            try (IsolatedEnvironment env = Attacks.env().start()) {
                assertThat(sh(env, "grep NoNewPrivs /proc/self/status").stdoutLines())
                        .contains("NoNewPrivs:\t1");
            }
            return;
        }
        Path image = dev.isolated.image.ImageBuilder.from(Attacks.image())
                .addStaticBinary(Path.of("/bin/busybox"), "/sid/id")
                .mode("/sid/id", 04755)
                .build();
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(image).start()) {
            ExecResult r =
                    env.exec(dev.isolated.Command.of("sh", "-c", "echo probe-ran; stat -c %a /sid/id; /sid/id -u")
                            .withUser(1000, 1000));
            assertThat(r.stdoutLines()).as(r.toString()).containsExactly("probe-ran", "4755", "1000");
        }
    }
}
