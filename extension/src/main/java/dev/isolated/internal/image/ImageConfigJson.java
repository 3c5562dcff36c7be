package dev.isolated.internal.image;

import dev.isolated.internal.json.JsonException;
import dev.isolated.internal.json.JsonObject;
import java.util.List;

import dev.isolated.image.ImageConfig;

/**
 * Reads the run defaults from an image config (the {@code config} object of an OCI or Docker image
 * config) and writes them to, and reads them back from, the cache entry's {@code config.json}, which
 * uses the same shape.
 */
final class ImageConfigJson {

    private ImageConfigJson() {
    }

    /**
     * The run defaults of an image config document.
     *
     * @throws JsonException if a field has the wrong type
     */
    static ImageConfig read(JsonObject document) {
        JsonObject config = document.optionalObject("config");
        if (config == null) {
            return ImageConfig.EMPTY;
        }
        return new ImageConfig(config.optionalStrings("Env"), config.optionalString("WorkingDir"),
                config.optionalString("User"), config.optionalStrings("Entrypoint"), config.optionalStrings("Cmd"));
    }

    /** The layer digests of the uncompressed layers ({@code rootfs.diff_ids}), or an empty list. */
    static List<String> diffIds(JsonObject document) {
        JsonObject rootfs = document.optionalObject("rootfs");
        List<String> ids = rootfs == null ? null : rootfs.optionalStrings("diff_ids");
        return ids == null ? List.of() : ids;
    }

    /** {@code config} as a small image config document: {@code {"config":{"Env":[...],...}}}. */
    static String write(ImageConfig config) {
        StringBuilder json = new StringBuilder("{\"config\":{");
        json.append("\"Env\":");
        strings(json, config.env());
        json.append(",\"WorkingDir\":");
        string(json, config.workingDir());
        json.append(",\"User\":");
        string(json, config.user());
        json.append(",\"Entrypoint\":");
        strings(json, config.entrypoint());
        json.append(",\"Cmd\":");
        strings(json, config.cmd());
        return json.append("}}\n").toString();
    }

    private static void strings(StringBuilder json, List<String> values) {
        json.append('[');
        for (int i = 0; i < values.size(); i++) {
            if (i > 0) {
                json.append(',');
            }
            string(json, values.get(i));
        }
        json.append(']');
    }

    private static void string(StringBuilder json, String value) {
        json.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) {
                        json.append("\\u%04x".formatted((int) c));
                    }
                    else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }
}
