package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.CLOSE;
import static dev.isolated.internal.helper.FrameType.ENV_DIED;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.WRITE;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** WRITE and its WRITE-DATA frames (native/PROTOCOL.md, "WRITE"). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve, WRITE")
class HelperWriteTests extends AbstractHelperCliTests {

    private static void data(ProtocolClient server, int id, String text) throws Exception {
        server.sendRaw('w', id, text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("a file's bytes come in WRITE-DATA frames; the ACK follows the last one")
    void fileInFrames() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(1, "rootfs=" + rootfs);

            server.send(WRITE, 2, "env=1", "path=/tmp/deep/f", "parents=true", "mode=600", "size=11");
            data(server, 2, "hello ");
            data(server, 2, "world");
            assertThat(server.read()).hasType(ACK).hasId(2);

            server.send(SPAWN, 3, "env=1", "arg=sh", "arg=-c", "arg=stat -c %a /tmp/deep/f; cat /tmp/deep/f");
            assertThat(server.stdoutUntilExit(3)).isEqualTo("600\nhello world");
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource({
        "2, EFBIG, , more WRITE-DATA than size= announced",
        "10, ECANCELED, abc, the data ended before size= bytes (an empty WRITE-DATA)"
    })
    @DisplayName("more data than size= fails that WRITE with EFBIG, an empty WRITE-DATA before size= bytes with "
            + "ECANCELED (never an ACK for a short file; it keeps the bytes written so far); data of a failed WRITE "
            + "is dropped; the helper keeps serving")
    void dataNotAsAnnounced(String size, String errname, String kept, String hint) throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(1, "rootfs=" + rootfs);

            server.send(WRITE, 2, "env=1", "path=/tmp/f", "size=" + size);
            data(server, 2, "abc");
            data(server, 2, "");
            assertThat(server.read())
                    .hasType(ERROR)
                    .hasId(2)
                    .fields()
                    .containsEntry("stage", "request")
                    .containsEntry("errname", errname)
                    .containsEntry("hint", hint);
            data(server, 2, "dropped");
            assertThat(server.request(WRITE, 3, "env=1", "path=/tmp/d", "type=dir"))
                    .hasType(ACK)
                    .hasId(3);

            server.send(SPAWN, 4, "env=1", "arg=cat", "arg=/tmp/f");
            assertThat(server.stdoutUntilExit(4)).isEqualTo(kept == null ? "" : kept);
        }
    }

    @Test
    @DisplayName("a FIFO is named in the hint with errno 0, never opened; CLOSE fails a WRITE still waiting for data")
    void fifoAndClose() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            server.create(1, "rootfs=" + rootfs);
            server.send(SPAWN, 2, "env=1", "arg=sh", "arg=-c", "arg=busybox mkfifo /tmp/pipe");
            server.stdoutUntilExit(2);

            assertThat(server.request(WRITE, 3, "env=1", "path=/tmp/pipe", "size=1"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "write")
                    .containsEntry("errno", "0")
                    .containsEntry("hint", "a FIFO");

            server.send(WRITE, 4, "env=1", "path=/tmp/waiting", "size=10");
            server.send(CLOSE, 5, "env=1");
            assertThat(server.read()).hasType(ERROR).hasId(4).fields().containsEntry("errname", "ECANCELED");
            assertThat(server.readUntil(ACK, 5)).hasType(ACK);
        }
    }

    @ParameterizedTest(name = "walk={0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("a directory or symlink is made in a parent reached through a symlink (/var/run -> ../run), with "
            + "openat2 and with the walk that stands in for it")
    void parentThroughSymlink(boolean walk) throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"), helperCommand(walk))) {
            server.create(1, "rootfs=" + rootfs);
            server.send(
                    SPAWN,
                    2,
                    "env=1",
                    "arg=sh",
                    "arg=-c",
                    "arg=mkdir -p /tmp/run /tmp/var && ln -s ../run /tmp/var/run");
            server.stdoutUntilExit(2);

            assertThat(server.request(WRITE, 3, "env=1", "path=/tmp/var/run/d", "type=dir"))
                    .hasType(ACK)
                    .hasId(3);
            assertThat(server.request(WRITE, 4, "env=1", "path=/tmp/var/run/l", "type=symlink", "link=d"))
                    .hasType(ACK)
                    .hasId(4);
            server.send(SPAWN, 5, "env=1", "arg=sh", "arg=-c", "arg=stat -c %F /tmp/run/d; readlink /tmp/run/l");
            assertThat(server.stdoutUntilExit(5)).isEqualTo("directory\nd\n");
        }
    }

    @Test
    @DisplayName("a WRITE still waiting for data fails with ECANCELED when the env's init dies, right after ENV-DIED: "
            + "no user namespace is left to write its data in")
    void initDiesWhileDataIsAwaited() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            long init = Long.parseLong(
                    server.create(1, "rootfs=" + rootfs).get("pid").orElseThrow());
            server.send(WRITE, 2, "env=1", "path=/tmp/waiting", "size=10");

            new ProcessBuilder("kill", "-KILL", Long.toString(init)).start().waitFor();
            assertThat(server.read()).hasType(ENV_DIED).hasId(1);
            assertThat(server.read())
                    .hasType(ERROR)
                    .hasId(2)
                    .fields()
                    .containsEntry("errname", "ECANCELED")
                    .containsEntry("hint", "the environment's init died");
            data(server, 2, "0123456789"); // dropped
            assertThat(server.request(CLOSE, 3, "env=1")).hasType(ACK).hasId(3);
        }
    }
}
