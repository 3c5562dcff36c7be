package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.FrameType.ACK;
import static dev.isolated.internal.helper.FrameType.CLOSE;
import static dev.isolated.internal.helper.FrameType.CREATE;
import static dev.isolated.internal.helper.FrameType.CREATED;
import static dev.isolated.internal.helper.FrameType.EXITED;
import static dev.isolated.internal.helper.FrameType.FORWARD;
import static dev.isolated.internal.helper.FrameType.SPAWN;
import static dev.isolated.internal.helper.FrameType.SPAWNED;
import static dev.isolated.internal.helper.FrameType.STDERR;
import static dev.isolated.internal.helper.FrameType.STDOUT;
import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;
import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A serve conversation with several processes running at once: every process's output (stdout and
 * stderr together) and exit are kept, whatever order their frames arrive in.
 */
final class Conversation implements AutoCloseable {

    final ProtocolClient client;

    private final Path rootfs;

    private final Map<Integer, StringBuilder> outputs = new HashMap<>();

    private final Map<Integer, Fields> exits = new HashMap<>();

    private int nextId = 1000;

    /**
     * @param stateDir the helper's state dir
     * @param rootfs the rootfs of every env created
     */
    Conversation(Path stateDir, Path rootfs) throws IOException {
        this(new ProtocolClient(stateDir), rootfs);
    }

    /**
     * @param client a helper started already (e.g. as another user)
     * @param rootfs the rootfs of every env created
     */
    Conversation(ProtocolClient client, Path rootfs) {
        this.client = client;
        this.rootfs = rootfs;
    }

    /** CREATE with {@code rootfs=} and the given fields; the CREATED record. */
    Fields create(int id, String... fields) throws IOException {
        String[] all =
                Stream.concat(Stream.of("rootfs=" + rootfs), Stream.of(fields)).toArray(String[]::new);
        Frame created = reply(client.request(CREATE, id, all));
        assertThat(created).hasType(CREATED);
        return created.fields();
    }

    /** SPAWN {@code sh -c script}, its stdin a pipe that stays open or {@code /dev/null}. */
    void spawn(int id, int env, boolean stdinPipe, String script) throws IOException {
        Frame spawned = reply(
                stdinPipe
                        ? client.request(SPAWN, id, "env=" + env, "stdin=pipe", "arg=sh", "arg=-c", "arg=" + script)
                        : client.request(SPAWN, id, "env=" + env, "arg=sh", "arg=-c", "arg=" + script));
        assertThat(spawned).hasType(SPAWNED);
    }

    /** Runs a script to its end; its stdout and stderr, which must end with code 0. */
    String run(int id, int env, String script) throws IOException {
        spawn(id, env, false, script);
        assertThat(exit(id)).as(output(id)).containsEntry("code", "0");
        return output(id);
    }

    /** FORWARD a port of env; the host port. */
    int forward(int id, int env, int port) throws IOException {
        Frame ack = reply(client.request(FORWARD, id, "env=" + env, "port=" + port));
        assertThat(ack).hasType(ACK);
        return Integer.parseInt(ProtocolClient.field(ack.fields(), "host-port"));
    }

    /** Whether proc id exited, without waiting longer than a moment for frames. */
    boolean exited(int id) throws IOException {
        try {
            Awaitility.await()
                    .atMost(Duration.ofMillis(500))
                    .pollInSameThread()
                    .pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> {
                        while (!exits.containsKey(id) && client.hasFrameWaiting()) {
                            collect(client.read());
                        }
                        return exits.containsKey(id);
                    });
            return true;
        } catch (ConditionTimeoutException notYet) {
            return false;
        }
    }

    /** Waits for proc id's EXITED; its record. */
    Fields exit(int id) throws IOException {
        while (!exits.containsKey(id)) {
            collect(client.read());
        }
        return exits.get(id);
    }

    /** Waits for proc id's EXITED; all it wrote. */
    String output(int id) throws IOException {
        exit(id);
        return outputs.getOrDefault(id, new StringBuilder()).toString();
    }

    /** CLOSE env, which must be acknowledged. */
    void close(int env) throws IOException {
        Frame ack = reply(client.request(CLOSE, nextId++, "env=" + env));
        assertThat(ack).hasType(ACK);
    }

    /** The reply to a request: events of running processes that came first are kept. */
    private Frame reply(Frame frame) throws IOException {
        while (frame.type() == STDOUT || frame.type() == STDERR || frame.type() == EXITED) {
            collect(frame);
            frame = client.read();
        }
        return frame;
    }

    private void collect(Frame frame) {
        if (frame.type() == STDOUT || frame.type() == STDERR) {
            outputs.computeIfAbsent(frame.id(), k -> new StringBuilder()).append(new String(frame.payload(), UTF_8));
        } else if (frame.type() == EXITED) {
            exits.put(frame.id(), frame.fields());
        }
    }

    @Override
    public void close() throws IOException {
        client.close();
    }
}
