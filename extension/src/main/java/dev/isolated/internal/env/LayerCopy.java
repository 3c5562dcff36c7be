package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies a live environment's writable layer (its init's {@code /proc/<pid>/fd/<n>}) into a new host directory
 * with the helper's {@code copy-layer}, which keeps what a layer needs and a {@code TreeCopy} copy for
 * humans does not: modes, owners, times, whiteouts and overlayfs's opaque marks (see native/PROTOCOL.md). As
 * root, owners are shifted back from the environment's id range to the image's ids, so the copy is idmapped
 * into later environments as the image is.
 */
final class LayerCopy {
    private LayerCopy() {}

    static void run(Path helperBinary, long initHostPid, int upperFd, long idRangeBase, Path target) {
        List<String> argv = new ArrayList<>(List.of(
                helperBinary.toString(), "copy-layer", "/proc/" + initHostPid + "/fd/" + upperFd, target.toString()));
        if (idRangeBase > 0) {
            argv.add(Long.toString(idRangeBase));
        }
        try {
            Process p = new ProcessBuilder(argv)
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            int code = p.waitFor();
            if (code != 0) {
                throw new IsolatedException("freeze(): copying the writable layer to " + target + " failed (exit "
                        + code + "): " + output + " (frozen states are kept in isolated.layer.dir)");
            }
        } catch (IOException e) {
            throw new IsolatedException("freeze(): cannot run " + helperBinary + " copy-layer: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IsolatedException("Interrupted while freeze() copied the writable layer", e);
        }
    }
}
