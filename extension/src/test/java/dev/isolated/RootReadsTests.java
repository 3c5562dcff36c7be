package dev.isolated;

import static dev.isolated.RootWritesTests.CONF;
import static dev.isolated.RootWritesTests.HBA;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * readString, awaitFile and copyOut read as the environment's root would: another user's 0600 file of the
 * image in its 0700 directory too, rootless as well (where the helper reads it, the JVM's uid could not); never
 * through a symlink out of the root, never blocking on a FIFO.
 */
@DisplayName("readString, awaitFile and copyOut act as the environment's root")
class RootReadsTests {

    /** What both the root and the rootless JVM check, on an environment of {@link RootWritesTests#postgresImage}. */
    static void readsAsRootInside(IsolatedEnvironment env, Path dir) throws Exception {
        Path canary = Files.writeString(dir.resolve("canary"), "host canary\n");
        assertThat(env.exec(
                        "sh",
                        "-c",
                        "mkdir -p " + dir + " && echo inside > " + canary + " && ln -s " + canary + " " + CONF
                                + "/to-canary && ln -s ../../../../.. " + CONF + "/up && busybox mkfifo " + CONF
                                + "/pipe && chown -Rh 70:70 " + CONF + " && stat -c '%a "
                                + "%u:%g' " + CONF + " " + HBA))
                .stdout()
                .isEqualTo("700 70:70\n600 70:70\n");

        assertThat(env.readString(HBA)).isEqualTo("local all all peer\n");
        env.awaitFile(HBA); // returns at once: it is there, in a directory only root inside may search
        env.awaitFile(CONF + "/to-canary");

        // planted symlinks resolve inside the root: the environment's file, never the host's
        assertThat(env.readString(CONF + "/to-canary")).isEqualTo("inside\n");
        assertThat(env.readString(CONF + "/up" + canary)).isEqualTo("inside\n");

        // a FIFO is refused at once, never opened (a read of it would block: nothing writes it)
        String where = " in the environment of host pid " + env.initHostPid();
        assertThatThrownBy(() -> env.readString(CONF + "/pipe"))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessage("Cannot read " + CONF + "/pipe: " + CONF + "/pipe" + where + " is a FIFO, not a regular "
                        + "file; only regular files are read");
        assertThatThrownBy(() -> env.readString(CONF))
                .hasMessage("Cannot read " + CONF + ": " + CONF + where + " is a directory, not a regular file; "
                        + "only regular files are read");
        assertThatThrownBy(() -> env.copyOut(CONF + "/pipe", dir.resolve("pipe")))
                .hasMessage("Cannot copy " + CONF + "/pipe out of the environment to " + dir.resolve("pipe") + ": "
                        + CONF + "/pipe" + where + " is a FIFO; copyOut copies regular files, directories and "
                        + "symlinks only");
        assertThatThrownBy(() -> env.readString(CONF + "/missing"))
                .hasMessageContaining("No such file or directory (errno 2)");

        env.copyOut(HBA, dir.resolve("hba"));
        assertThat(dir.resolve("hba")).content().isEqualTo("local all all peer\n");
        env.copyOut(CONF, dir.resolve("conf"));
        assertThat(dir.resolve("conf/pg_hba.conf")).content().isEqualTo("local all all peer\n");
        assertThat(Files.readSymbolicLink(dir.resolve("conf/to-canary"))).isEqualTo(canary);
        assertThat(Files.readSymbolicLink(dir.resolve("conf/up"))).isEqualTo(Path.of("../../../../.."));
        assertThat(dir.resolve("conf/pipe")).doesNotExist();
        try (var names = Files.list(dir.resolve("conf"))) {
            assertThat(names.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("pg_hba.conf", "to-canary", "up");
        }
        assertThat(canary).content().isEqualTo("host canary\n");
    }

    @Test
    @DisplayName("as root: another user's 0600 file in its 0700 directory is read, awaited and copied out; planted "
            + "symlinks stay inside; a FIFO is refused at once")
    void asRoot(@TempDir Path dir) throws Exception {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(RootWritesTests.postgresImage(dir).toString())
                .start()) {
            readsAsRootInside(env, Files.createDirectories(dir.resolve("host")));
        }
    }

    @Test
    @DisplayName("run by uid 65534 with SUBIDS: another user's 0600 file in its 0700 directory is read by readString, "
            + "awaitFile and copyOut (the JVM's uid could not); planted symlinks stay inside; a FIFO is "
            + "refused at once")
    void rootless(@TempDir Path dir) throws Exception {
        NobodyJvm.runSubIdsFixture(dir, RootlessTestCase.class);
    }

    static class RootlessTestCase {
        @Test
        void reads(@TempDir Path dir) throws Exception {
            try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                    .rootfs(RootWritesTests.postgresImage(dir).toString())
                    .userMapping(UserMapping.SUBIDS)
                    .start()) {
                Path host = Files.createDirectories(dir.resolve("host"));
                // the JVM's own uid may not: what the helper's READ does for it
                // a rootless image has no other owners (its files belong to the user, root inside) until a command
                // inside makes some, as initdb does: then the JVM's own uid may not read them
                assertThat(env.exec("sh", "-c", "chown -R 70:70 " + CONF)).succeeded();
                assertThat(Files.isReadable(Path.of("/proc/" + env.initHostPid() + "/root" + HBA)))
                        .isFalse();
                readsAsRootInside(env, host);
            }
        }
    }
}
