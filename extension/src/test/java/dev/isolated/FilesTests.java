package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("files in and out of an environment")
@Isolated(rootfs = "busybox.tar")
class FilesTests {

    @Test
    @DisplayName("writeString and readString work on the environment's files")
    void readAndWrite(IsolatedEnvironment env) {
        env.writeString("/etc/app.conf", "port=7000\n");

        assertThat(env.exec("cat", "/etc/app.conf")).stdout().isEqualTo("port=7000\n");
        assertThat(env.readString("/etc/passwd")).startsWith("root:x:0:0:");
    }

    @Test
    @DisplayName("symlinks resolve inside the environment, never on the host")
    void symlinksStayInside(IsolatedEnvironment env) {
        assertThat(env.exec("sh", "-c", "ln -s / /escape && ln -s /etc/passwd /tmp/pw"))
                .succeeded();

        env.writeString("/escape/tmp/through-link", "inside");

        assertThat(env.exec("cat", "/tmp/through-link")).stdout().isEqualTo("inside");
        assertThat(Paths.get("/tmp/through-link")).doesNotExist();
        assertThat(env.readString("/tmp/pw")).startsWith("root:x:0:0:root:/root:/bin/sh");
    }

    @Test
    @DisplayName(
            "writeString and copyIn create missing parent directories, inside the environment even through a symlink")
    void parentsAreCreated(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        String unique = "isolated-parents-" + ProcessHandle.current().pid();
        assertThat(env.exec("ln", "-s", "/", "/escape")).succeeded();

        env.writeString("/srv/www/site/index.html", "hi\n");
        env.writeString("/escape/tmp/" + unique + "/deep/f", "inside\n");
        env.copyIn(Files.writeString(dir.resolve("conf"), "k=v\n"), "/opt/app/etc/app.conf");

        assertThat(env.exec(
                        "sh",
                        "-c",
                        "cat /srv/www/site/index.html /tmp/" + unique + "/deep/f /opt/app/etc/app.conf; "
                                + "stat -c %a /srv/www /srv/www/site"))
                .stdout()
                .isEqualTo("hi\ninside\nk=v\n755\n755\n");
        assertThat(Paths.get("/tmp/" + unique)).doesNotExist();
        assertThatThrownBy(() -> env.writeString("/etc/passwd/under-a-file", "x"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("/etc/passwd");
    }

    @Test
    @DisplayName("writeString and copyIn create files 0644 owned by root; over a file they keep its mode and owner,"
            + " also another user's 0600 file; a directory or symlink copied onto anything is refused")
    void overwriteKeepsModeAndOwner(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        assertThat(env.exec(
                        "sh",
                        "-c",
                        "echo old > /etc/own && chmod 600 /etc/own && echo old > /etc/theirs && chown 1000:1000 "
                                + "/etc/theirs && chmod 666 /etc/theirs && echo old > /etc/private && chown "
                                + "1000:1000 /etc/private && chmod 600 /etc/private"))
                .succeeded();

        env.writeString("/etc/new", "new\n");
        env.writeString("/etc/own", "written\n");
        env.copyIn(Files.writeString(dir.resolve("host"), "copied\n"), "/etc/theirs");

        assertThat(env.exec(
                        "sh", "-c", "stat -c '%a %u:%g %n' /etc/new /etc/own /etc/theirs; cat /etc/own /etc/theirs"))
                .stdout()
                .isEqualTo("644 0:0 /etc/new\n600 0:0 /etc/own\n666 1000:1000 /etc/theirs\nwritten\ncopied\n");
        env.writeString("/etc/private", "root writes it\n");
        assertThat(env.exec("sh", "-c", "stat -c '%a %u:%g' /etc/private; cat /etc/private"))
                .stdout()
                .isEqualTo("600 1000:1000\nroot writes it\n");
        Files.createDirectories(dir.resolve("tree"));
        Files.createSymbolicLink(dir.resolve("link"), Paths.get("tree"));
        assertThatThrownBy(() -> env.copyIn(dir.resolve("tree"), "/etc/own"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("at /etc/own: ");
        assertThatThrownBy(() -> env.copyIn(dir.resolve("link"), "/etc/own"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("at /etc/own: ");
        assertThatThrownBy(() -> env.copyIn(dir.resolve("tree"), "/etc"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("at /etc: ");
        assertThat(env.readString("/etc/own")).isEqualTo("written\n");
    }

    @Test
    @DisplayName("copyIn and copyOut carry directory trees with files and symlinks")
    void copyTrees(IsolatedEnvironment env, @TempDir Path dir) throws Exception {
        Path fixtures = Files.createDirectories(dir.resolve("fixtures/sub"));
        Files.writeString(fixtures.resolve("a.txt"), "alpha");
        Files.createSymbolicLink(fixtures.resolve("link"), Paths.get("a.txt"));

        env.copyIn(dir.resolve("fixtures"), "/data");
        assertThat(env.exec("sh", "-c", "cat /data/sub/a.txt /data/sub/link && echo beta > /data/sub/b.txt"))
                .stdout()
                .isEqualTo("alphaalpha");

        env.copyOut("/data", dir.resolve("back"));
        assertThat(dir.resolve("back/sub/b.txt")).content().isEqualTo("beta\n");
        assertThat(Files.readSymbolicLink(dir.resolve("back/sub/link"))).isEqualTo(Paths.get("a.txt"));
    }

    @Test
    @DisplayName("reading a missing file names it")
    void missingFile(IsolatedEnvironment env) {
        assertThatThrownBy(() -> env.readString("/no/such/file"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("/no/such/file");
    }
}
