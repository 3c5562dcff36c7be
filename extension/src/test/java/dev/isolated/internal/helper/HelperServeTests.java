package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.CLOSE;
import static dev.isolated.internal.helper.FrameType.CREATE;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.EXITED;
import static dev.isolated.internal.helper.FrameType.SIGNAL;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.FrameType.STDIN_CLOSE;
import static dev.isolated.internal.helper.FrameType.STDIN_WRITTEN;
import static dev.isolated.internal.helper.FrameType.STDOUT;
import static dev.isolated.internal.helper.FrameType.UNAME;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static dev.isolated.internal.helper.ProtocolClient.field;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code isolated-helper serve}, the protocol of native/PROTOCOL.md, spoken as the JVM does:
 * a whole conversation, errors, the fields of CREATE and SPAWN, and the end at EOF of stdin.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper")
class HelperServeTests extends AbstractHelperCliTests {

    @Test
    @DisplayName("serve: STDIN-WRITTEN reports every byte of STDIN written to the pipe, closed=true once the process "
            + "closed its stdin; a SIGNAL sent right after a SPAWN reaches that process")
    void stdinWrittenAndSignalAfterSpawn() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(1, "rootfs=" + rootfs);
            assertThat(server.request(
                            SPAWN, 2, "env=1", "stdin=pipe", "arg=sh", "arg=-c", "arg=cat >/dev/null; echo done"))
                    .hasType(SPAWNED);
            int sent = 0;
            for (int i = 0; i < 5; i++) {
                byte[] data = new byte[256 * 1024 + i];
                server.sendRaw('I', 2, data);
                sent += data.length;
            }
            server.sendRaw(STDIN_CLOSE.letter(), 2, new byte[0]);
            long written = 0;
            String out = "";
            for (Frame frame; (frame = server.read()).type() != EXITED; ) {
                if (frame.type() == STDIN_WRITTEN) {
                    assertThat(frame.fields()).doesNotContainKey("closed");
                    written += Long.parseLong(field(frame.fields(), "bytes"));
                } else if (frame.type() == STDOUT) {
                    out += new String(frame.payload(), java.nio.charset.StandardCharsets.UTF_8);
                }
            }
            assertThat(written).isEqualTo(sent);
            assertThat(out).isEqualTo("done\n");

            server.request(
                    SPAWN, 3, "env=1", "stdin=pipe", "arg=sh", "arg=-c", "arg=exec 0<&-; echo closed; exec sleep 1000");
            assertThat(server.readUntil(STDOUT, 3).payload()).asString().isEqualTo("closed\n");
            server.sendRaw('I', 3, new byte[1024]);
            Frame closed = server.readUntil(STDIN_WRITTEN, 3);
            assertThat(closed.fields()).containsEntry("closed", "true").containsEntry("bytes", "0");

            server.send(SPAWN, 4, "env=1", "arg=sleep", "arg=1000");
            server.send(SIGNAL, 5, "proc=4", "signal=9");
            assertThat(server.read()).hasType(SPAWNED).hasId(4);
            assertThat(server.read()).hasType(ACK).hasId(5);
            assertThat(server.awaitExit(4).fields()).containsEntry("signal", "9");
        }
    }

    @Test
    @DisplayName("serve: SPAWN uid/gid/umask/caps and CREATE caps/rlimit/readonly-root/bind/tmpfs/time-offset fields")
    void spawnAndCreateFields() throws Exception {
        Path hostDir = Files.createDirectories(tmp.resolve("served-dir"));
        Files.writeString(hostDir.resolve("f"), "bound\n");
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(
                    1,
                    "rootfs=" + rootfs,
                    "caps=default",
                    "rlimit=nofile\t50\t60",
                    "readonly-root=true",
                    "bind=" + hostDir + "\t/data\tro",
                    "tmpfs=/scratch\t0\t1777",
                    "time-offset=boottime\t86400");

            server.request(
                    SPAWN,
                    2,
                    "env=1",
                    "arg=sh",
                    "arg=-c",
                    "arg=grep CapEff /proc/self/status; ulimit -n; cat /data/f; touch /etc/x 2>/dev/null || echo ro; "
                            + "touch /scratch/y && echo scratch; cut -d. -f1 /proc/uptime");
            String out = server.stdoutUntilExit(2);
            assertThat(out).contains("CapEff:\t00000000a80405fb", "\n50\n", "bound\n", "ro\n", "scratch\n");
            assertThat(Long.parseLong(out.lines().reduce((a, b) -> b).orElseThrow()))
                    .isGreaterThan(86400);

            server.request(
                    SPAWN,
                    3,
                    "env=1",
                    "caps=all",
                    "uid=1000",
                    "gid=1000",
                    "umask=027",
                    "arg=sh",
                    "arg=-c",
                    "arg=id; umask");
            assertThat(server.stdoutUntilExit(3))
                    .startsWith("uid=1000 gid=1000")
                    .endsWith("0027\n");

            server.request(SPAWN, 4, "env=1", "caps=all", "arg=grep", "arg=CapEff", "arg=/proc/self/status");
            assertThat(server.stdoutUntilExit(4)).doesNotContain("a80405fb");

            Frame bad = server.request(CREATE, 5, "rootfs=" + rootfs, "bind=" + tmp.resolve("missing") + "\t/data\tro");
            assertThat(bad)
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "bind")
                    .containsEntry("errname", "ENOENT")
                    .containsEntry("kind", "test")
                    .containsEntry("path", tmp.resolve("missing").toString());
            assertThat(field(bad.fields(), "hint")).contains("/data");
        }
    }

    @Nested
    @DisplayName("serve")
    class Serve {

        @Test
        @DisplayName("creates an env, spawns, reports output and exit, reads the hostname, signals, closes")
        void fullConversation() throws Exception {
            try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
                Fields created = server.create(1, "rootfs=" + rootfs, "ns=pid,mount,uts,ipc", "hostname=served");
                assertThat(created)
                        .containsEntry("rootfs-mode", "overlay")
                        .containsEntry("root", "pivot")
                        .containsKey("pid");

                Frame spawned = server.request(SPAWN, 2, "env=1", "arg=echo", "arg=hi");
                assertThat(spawned).hasType(SPAWNED).fields().containsEntry("nspid", "2");
                assertThat(server.read()).hasType(STDOUT).hasId(2).hasText("hi\n");
                assertThat(server.read()).hasType(EXITED).hasId(2).fields().containsEntry("code", "0");

                assertThat(server.request(UNAME, 3, "env=1").fields()).containsEntry("hostname", "served");

                assertThat(server.request(SPAWN, 4, "env=1", "arg=sleep", "arg=1000"))
                        .hasType(SPAWNED);
                assertThat(server.request(SIGNAL, 5, "proc=4", "signal=15")).hasType(ACK);
                assertThat(server.read()).hasType(EXITED).hasId(4).fields().containsEntry("signal", "15");

                Frame closed = server.request(CLOSE, 6, "env=1");
                assertThat(closed).hasType(ACK).hasId(6);
                assertThat(Path.of("/proc", field(created, "pid"))).doesNotExist();
            }
        }

        @Test
        @DisplayName("spawned=false: a SPAWN is answered by its output and EXITED (or an ERROR) only, no SPAWNED")
        void spawnWithoutSpawned() throws Exception {
            try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
                server.create(1, "rootfs=" + rootfs, "ns=pid,mount");

                assertThat(server.request(SPAWN, 2, "env=1", "spawned=false", "arg=echo", "arg=hi"))
                        .hasType(STDOUT)
                        .hasId(2)
                        .hasText("hi\n");
                assertThat(server.read()).hasType(EXITED).hasId(2).fields().containsEntry("code", "0");
                assertThat(server.request(SPAWN, 3, "env=1", "spawned=false", "arg=true"))
                        .hasType(EXITED)
                        .hasId(3)
                        .fields()
                        .containsEntry("code", "0");
                assertThat(server.request(SPAWN, 4, "env=1", "spawned=false", "arg=/no/such/program"))
                        .hasType(ERROR)
                        .hasId(4)
                        .fields()
                        .containsEntry("stage", "exec")
                        .containsEntry("errname", "ENOENT");
                assertThat(server.request(SPAWN, 5, "env=1", "spawned=maybe", "arg=true"))
                        .hasType(ERROR)
                        .hasId(5)
                        .fields()
                        .containsEntry("stage", "request")
                        .containsEntry("errname", "EINVAL");
                assertThat(server.request(SPAWN, 6, "env=1", "spawned=true", "arg=true"))
                        .hasType(SPAWNED)
                        .hasId(6);
            }
        }

        @Test
        @DisplayName("answers a bad rootfs with an ERROR naming the stage and errno")
        void errorForBadRootfs() throws Exception {
            try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
                Frame error = server.request(CREATE, 1, "rootfs=" + tmp.resolve("missing"));

                assertThat(error)
                        .hasType(ERROR)
                        .hasId(1)
                        .fields()
                        .containsEntry("stage", "mount-rootfs")
                        .containsEntry("errno", "2")
                        .containsEntry("errname", "ENOENT")
                        .containsEntry("path", tmp.resolve("missing").toString())
                        .containsEntry("kind", "test")
                        .containsKey("hint");
            }
        }

        @Test
        @DisplayName("on EOF of its stdin kills what it spawned, cleans its state dir and exits 0")
        void stdinEofKillsEverything() throws Exception {
            Path state = tmp.resolve("state");
            ProtocolClient server = new ProtocolClient(state);
            server.request(CREATE, 1, "rootfs=" + rootfs);
            Frame spawned = server.request(SPAWN, 2, "env=1", "arg=sleep", "arg=1000");
            Path sleeper = Path.of("/proc", field(spawned.fields(), "pid"));
            assertThat(sleeper).exists();

            server.closeStdin();

            assertThat(server.process().waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(server.process().exitValue()).isZero();
            assertThat(sleeper).doesNotExist();
            assertThat(state).doesNotExist();
        }
    }
}
