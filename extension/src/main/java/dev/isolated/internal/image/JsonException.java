package dev.isolated.internal.image;

/**
 * A JSON document of an image (manifest, index, config) is malformed or lacks a field; the message
 * names the file, the image and the place.
 */
final class JsonException extends RuntimeException {

    /**
     * @param message what is wrong and where
     */
    JsonException(String message) {
        super(message);
    }
}
