package dev.isolated.internal.json;

/**
 * A JSON document of an image (manifest, index, config) is malformed or lacks a field; the message
 * names the file, the image and the place.
 */
public final class JsonException extends RuntimeException {

    /**
     * @param message what is wrong and where
     */
    public JsonException(String message) {
        super(message);
    }
}
