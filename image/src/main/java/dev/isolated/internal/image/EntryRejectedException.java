package dev.isolated.internal.image;

/**
 * An archive entry would be unsafe to write; the {@link SafeTarUnpacker} adds the image and entry
 * names to the reason.
 */
final class EntryRejectedException extends RuntimeException {

    /**
     * @param reason why the entry is refused
     */
    EntryRejectedException(String reason) {
        super(reason);
    }
}
