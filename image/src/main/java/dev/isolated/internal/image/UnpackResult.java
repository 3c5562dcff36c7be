package dev.isolated.internal.image;

import java.util.List;

/**
 * What an unpack did.
 *
 * @param entries how many archive entries were read
 * @param bytes how many bytes of regular-file content were written
 * @param notes what was skipped or could not be kept (device nodes, ownership when not root), for
 *     the caller to log
 */
public record UnpackResult(long entries, long bytes, List<String> notes) {

    /** Copies the notes. */
    public UnpackResult {
        notes = List.copyOf(notes);
    }
}
