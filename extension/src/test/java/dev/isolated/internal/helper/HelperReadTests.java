package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.ERROR;
import static dev.isolated.internal.helper.FrameType.READ;
import static dev.isolated.internal.helper.FrameType.READ_DATA;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** READ and its READ-DATA frames (native/PROTOCOL.md, "READ"). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve, READ")
class HelperReadTests extends AbstractHelperCliTests {

    /** The READ-DATA of request ID, then its answer, which must be TYPE. */
    private static byte[] dataUntil(ProtocolClient server, int id, FrameType answer, ByteArrayOutputStream data)
            throws Exception {
        while (true) {
            Frame frame = server.read();
            assertThat(frame.id()).isEqualTo(id);
            if (frame.type() != READ_DATA) {
                assertThat(frame).hasType(answer);
                return frame.payload();
            }
            assertThat(frame.payload().length).isLessThanOrEqualTo(64 * 1024);
            data.write(frame.payload());
        }
    }

    /** Makes env 1 and runs SCRIPT there with sh (proc 2), to its end. */
    private void inEnvironment(ProtocolClient server, String script) throws Exception {
        server.create(1, "rootfs=" + rootfs);
        server.send(SPAWN, 2, "env=1", "arg=sh", "arg=-c", "arg=" + script);
        server.stdoutUntilExit(2);
    }

    @Test
    @DisplayName(
            "a file's bytes come in READ-DATA frames of at most 64 KiB before the ACK with its type, mode and size")
    void fileInFrames() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            inEnvironment(server, "busybox seq 1 40000 > /tmp/f; chmod 600 /tmp/f");

            server.send(READ, 3, "env=1", "path=/tmp/f", "type=file");
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            dataUntil(server, 3, ACK, data);
            StringBuilder expected = new StringBuilder();
            for (int i = 1; i <= 40000; i++) {
                expected.append(i).append('\n');
            }
            assertThat(data.toString(StandardCharsets.UTF_8)).isEqualTo(expected.toString());

            assertThat(server.request(READ, 4, "env=1", "path=/tmp/f"))
                    .hasType(ACK)
                    .fields()
                    .containsEntry("type", "file")
                    .containsEntry("mode", "100600")
                    .containsEntry("size", Integer.toString(expected.length()));
            assertThat(server.request(READ, 5, "env=1", "path=/tmp/f", "type=file", "limit=10"))
                    .hasType(ACK)
                    .fields()
                    .containsEntry("more", "true");
        }
    }

    @Test
    @DisplayName("offset= sends a file's bytes from there on, at most limit= of them, more=true while a byte is "
            + "left past them; at or past the end no data and no more; only with type=file")
    void offsetReadsAChunk() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            // 200,000 bytes: "0123456789" repeated, so any chunk says where it starts
            inEnvironment(server, "busybox seq 1 20000 | while read i; do printf 0123456789; done > /tmp/f");
            String whole = "0123456789".repeat(20000);

            server.send(READ, 3, "env=1", "path=/tmp/f", "type=file", "offset=70003", "limit=100000");
            ByteArrayOutputStream chunk = new ByteArrayOutputStream();
            byte[] ack = dataUntil(server, 3, ACK, chunk);
            assertThat(chunk.toString(StandardCharsets.UTF_8)).isEqualTo(whole.substring(70003, 170003));
            assertThat(new Frame(ACK, 3, ack))
                    .fields()
                    .containsEntry("size", "200000")
                    .containsEntry("more", "true");

            server.send(READ, 4, "env=1", "path=/tmp/f", "type=file", "offset=170003", "limit=100000");
            ByteArrayOutputStream last = new ByteArrayOutputStream();
            assertThat(new Frame(ACK, 4, dataUntil(server, 4, ACK, last)))
                    .fields()
                    .doesNotContainKey("more");
            assertThat(last.toString(StandardCharsets.UTF_8)).isEqualTo(whole.substring(170003));

            server.send(READ, 5, "env=1", "path=/tmp/f", "type=file", "offset=199990");
            ByteArrayOutputStream tail = new ByteArrayOutputStream();
            dataUntil(server, 5, ACK, tail);
            assertThat(tail.toString(StandardCharsets.UTF_8)).isEqualTo("0123456789");

            for (String offset : List.of("200000", "999999999999")) {
                assertThat(server.request(READ, 6, "env=1", "path=/tmp/f", "type=file", "offset=" + offset, "limit=10"))
                        .as("offset " + offset)
                        .hasType(ACK)
                        .fields()
                        .containsEntry("size", "200000")
                        .doesNotContainKey("more");
            }
            assertThat(server.request(READ, 7, "env=1", "path=/tmp", "type=dir", "offset=1"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "request")
                    .containsEntry("errname", "EINVAL");
        }
    }

    @Test
    @DisplayName("a directory's names (NUL after each), a symlink's target without following it; a FIFO is named in "
            + "the hint with errno 0, never opened; a missing path is ENOENT")
    void directorySymlinkAndFifo() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            inEnvironment(
                    server,
                    "mkdir /tmp/d && touch /tmp/d/a /tmp/d/b && ln -s /etc/passwd /tmp/d/l && busybox mkfifo /tmp/p");

            server.send(READ, 3, "env=1", "path=/tmp/d", "type=dir");
            ByteArrayOutputStream names = new ByteArrayOutputStream();
            dataUntil(server, 3, ACK, names);
            String[] sorted = names.toString(StandardCharsets.UTF_8).split("\0");
            Arrays.sort(sorted);
            assertThat(sorted).containsExactly("a", "b", "l");
            assertThat(names.toByteArray()[names.size() - 1]).isZero();

            server.send(READ, 4, "env=1", "path=/tmp/d/l", "type=symlink", "follow=false");
            ByteArrayOutputStream target = new ByteArrayOutputStream();
            dataUntil(server, 4, ACK, target);
            assertThat(target.toString(StandardCharsets.UTF_8)).isEqualTo("/etc/passwd");

            assertThat(server.request(READ, 5, "env=1", "path=/tmp/d/l", "type=file", "follow=false"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("errno", "0")
                    .containsEntry("hint", "a symlink");
            assertThat(server.request(READ, 6, "env=1", "path=/tmp/p", "type=file"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "read")
                    .containsEntry("errno", "0")
                    .containsEntry("hint", "a FIFO");
            assertThat(server.request(READ, 7, "env=1", "path=/tmp/p"))
                    .hasType(ACK)
                    .fields()
                    .containsEntry("type", "fifo");
            assertThat(server.request(READ, 8, "env=1", "path=/tmp/none", "type=file"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "read")
                    .containsEntry("errname", "ENOENT");
        }
    }

    @Test
    @DisplayName("entries=true lists a directory in one READ: each entry's name, st_mode in octal and a symlink's "
            + "target (empty for the others), NUL after each, also in another user's 0700 directory; only with "
            + "type=dir")
    void directoryEntries() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            inEnvironment(
                    server,
                    "mkdir /tmp/d /tmp/d/sub && echo x > /tmp/d/f && ln -s ../up /tmp/d/l && busybox mkfifo "
                            + "/tmp/d/p && chmod 640 /tmp/d/f && chmod 750 /tmp/d/sub && chmod 600 /tmp/d/p && "
                            + "chown -R 70:70 /tmp/d && chmod 700 /tmp/d");

            server.send(READ, 3, "env=1", "path=/tmp/d", "type=dir", "entries=true", "follow=false");
            ByteArrayOutputStream entries = new ByteArrayOutputStream();
            dataUntil(server, 3, ACK, entries);
            assertThat(entries.toByteArray()[entries.size() - 1]).isZero();
            String[] words = entries.toString(StandardCharsets.UTF_8).split("\0", -1);
            List<String> listed = new ArrayList<>();
            for (int i = 0; i + 2 < words.length; i += 3) {
                listed.add(words[i] + " " + words[i + 1] + " " + words[i + 2]);
            }
            assertThat(words).hasSize(4 * 3 + 1); // the last NUL ends the last word
            assertThat(listed).containsExactlyInAnyOrder("f 100640 ", "sub 40750 ", "l 120777 ../up", "p 10600 ");

            assertThat(server.request(READ, 4, "env=1", "path=/tmp/d", "type=file", "entries=true"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("stage", "request")
                    .containsEntry("errname", "EINVAL");
        }
    }

    @ParameterizedTest(name = "without openat2: {0}")
    @ValueSource(booleans = {false, true})
    @DisplayName("planted symlinks to a host file and up past the root lead to the environment's file, never the "
            + "host's, with openat2 and with the walk that stands in for it; follow=false looks at the symlink")
    void symlinksStayInside(boolean walk) throws Exception {
        Path canary = Files.writeString(tmp.resolve("canary"), "host\n");
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"), helperCommand(walk))) {
            inEnvironment(
                    server,
                    "mkdir -p " + tmp + " && echo inside > " + canary + " && ln -s " + canary
                            + " /tmp/to-canary && ln -s ../../../../.. /tmp/up");

            for (String path : List.of("/tmp/to-canary", "/tmp/up" + canary)) {
                server.send(READ, 3, "env=1", "path=" + path, "type=file");
                ByteArrayOutputStream data = new ByteArrayOutputStream();
                dataUntil(server, 3, ACK, data);
                assertThat(data.toString(StandardCharsets.UTF_8)).as(path).isEqualTo("inside\n");
            }
            assertThat(server.request(READ, 4, "env=1", "path=/tmp/to-canary", "follow=false"))
                    .hasType(ACK)
                    .fields()
                    .containsEntry("type", "symlink");
            assertThat(server.request(READ, 5, "env=1", "path=/tmp/up", "type=dir", "follow=false"))
                    .hasType(ERROR)
                    .fields()
                    .containsEntry("errno", "0")
                    .containsEntry("hint", "a symlink");
        }
        assertThat(canary).content().isEqualTo("host\n");
    }
}
