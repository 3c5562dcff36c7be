package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.IsolatedException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The thread that reads the helper's answers failing with an Error (an OutOfMemoryError while it handled a frame):
 * every caller still waiting is told at once, and the helper, unread from then on, is stopped with what it ran.
 */
@DisplayName("the helper connection's reader thread failing")
class HelperReaderFailureTests {

    @Test
    @DisplayName("an Error on the reader thread fails every waiting call at once and stops the helper")
    void errorOnTheReaderThread(@TempDir Path stateDir) throws Exception {
        HelperConnection helper = HelperConnection.start(HelperPaths.helper(), stateDir);
        try {
            int id = helper.newId();
            CompletableFuture<Void> answered = new CompletableFuture<>();
            helper.listen(id, new FrameListener() {
                @Override
                public void onFrame(Frame frame) {
                    answered.complete(null);
                    throw new OutOfMemoryError("thrown by the test on the reader thread");
                }

                @Override
                public void onHelperGone(IsolatedException reason) {}
            });
            // an answer for the failing listener: a SIGNAL of no process is answered with an ERROR
            helper.send(Frame.of(
                    FrameType.SIGNAL, id, Fields.of().add("proc", "999999").add("signal", "0")));
            answered.get(10, TimeUnit.SECONDS);

            CompletableFuture<Fields> after =
                    helper.call(FrameType.UNAME, Fields.of().add("env", "999999"));
            assertThatThrownBy(() -> after.get(10, TimeUnit.SECONDS))
                    .as("a call after the reader died fails at once instead of waiting for its timeout")
                    .isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(IsolatedException.class)
                    .hasMessageContaining("Lost the connection to the isolated helper")
                    .hasMessageContaining("OutOfMemoryError: thrown by the test on the reader thread");
            assertThat(helper.isAlive()).isFalse();
            assertThat(ProcessHandle.of(helper.pid())
                            .map(p -> p.onExit().orTimeout(10, TimeUnit.SECONDS).join())
                            .map(ProcessHandle::isAlive)
                            .orElse(false))
                    .as("the helper, no longer read, was stopped (its stdin closed)")
                    .isFalse();
        } finally {
            helper.close();
        }
    }
}
