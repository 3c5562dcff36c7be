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

    /**
     * {@code note} as one line of a {@code complete} file: line breaks ({@code \n}, and {@code \r}, which
     * {@code Files.readAllLines} breaks at too) become spaces, so an entry name a note quotes cannot add lines
     * such as {@code bytes=0}, whose counts a later image's limits trust.
     */
    static String asLine(String note) {
        return note.replace('\n', ' ').replace('\r', ' ');
    }
}
