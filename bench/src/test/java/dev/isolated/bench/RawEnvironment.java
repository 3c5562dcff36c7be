package dev.isolated.bench;

import dev.isolated.IsolatedException;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.Frame;
import dev.isolated.internal.helper.FrameListener;
import dev.isolated.internal.helper.FrameType;
import dev.isolated.internal.helper.HelperConnection;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * CREATE and CLOSE frames sent straight to the helper (native/PROTOCOL.md), bypassing the extension's
 * {@code Environment}: reaches {@code rootfs-mode}, which the public API does not expose, and shows what
 * the protocol round trips cost on their own.
 */
final class RawEnvironment {
    private RawEnvironment() {}

    /**
     * Creates an environment (PID, MOUNT, UTS, IPC, NET) and closes it again.
     *
     * @param helper the helper
     * @param rootfs the unpacked image
     * @param mode {@code overlay} or {@code copy}
     * @throws Exception when the helper refused or timed out
     */
    static void createAndClose(HelperConnection helper, Path rootfs, String mode) throws Exception {
        int id = helper.newId();
        CompletableFuture<Fields> created = new CompletableFuture<>();
        helper.listen(id, new FrameListener() {
            @Override
            public void onFrame(Frame frame) {
                if (frame.type() == FrameType.CREATED) {
                    created.complete(frame.fields());
                } else if (frame.type() == FrameType.ERROR) {
                    created.completeExceptionally(new IllegalStateException("CREATE failed: " + frame.fields()));
                }
            }

            @Override
            public void onHelperGone(IsolatedException reason) {
                created.completeExceptionally(reason);
            }
        });
        try {
            helper.send(Frame.of(
                    FrameType.CREATE,
                    id,
                    Fields.of()
                            .add("rootfs", rootfs.toString())
                            .add("ns", "pid,mount,uts,ipc,net")
                            .add("hostname", "bench")
                            .add("rootfs-mode", mode)));
            Fields reply = created.get(30, TimeUnit.SECONDS);
            if (!mode.equals(reply.getOrEmpty("rootfs-mode"))) {
                throw new IllegalStateException("asked for rootfs-mode " + mode + ", got " + reply);
            }
            helper.call(FrameType.CLOSE, Fields.of().add("env", Integer.toString(id)))
                    .get(30, TimeUnit.SECONDS);
        } finally {
            helper.unlisten(id);
        }
    }
}
