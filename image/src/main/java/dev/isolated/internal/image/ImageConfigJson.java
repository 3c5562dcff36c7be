package dev.isolated.internal.image;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.json.JsonException;
import dev.isolated.internal.json.JsonObject;
import java.time.Duration;
import java.util.List;

/**
 * Reads the run defaults from an image config (the {@code config} object of an OCI or Docker image
 * config) and writes them to, and reads them back from, the cache entry's {@code config.json}, which
 * uses the same shape.
 */
final class ImageConfigJson {

    private ImageConfigJson() {}

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
        return new ImageConfig(
                config.optionalStrings("Env"),
                config.optionalString("WorkingDir"),
                config.optionalString("User"),
                config.optionalStrings("Entrypoint"),
                config.optionalStrings("Cmd"),
                healthcheck(config.optionalObject("Healthcheck")));
    }

    /** Docker's {@code Healthcheck} object: {@code Test}, and durations in nanoseconds (0 or missing: the default). */
    private static ImageConfig.Healthcheck healthcheck(JsonObject check) {
        if (check == null) {
            return ImageConfig.Healthcheck.NONE;
        }
        return new ImageConfig.Healthcheck(
                check.optionalStrings("Test"),
                nanos(check, "Interval"),
                nanos(check, "Timeout"),
                nanos(check, "StartPeriod"),
                (int) Math.min(Integer.MAX_VALUE, optionalInteger(check, "Retries")));
    }

    private static Duration nanos(JsonObject check, String key) {
        return Duration.ofNanos(optionalInteger(check, key));
    }

    private static long optionalInteger(JsonObject object, String key) {
        return object.has(key) && object.members().get(key) != null ? object.integer(key) : 0;
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
        ImageConfig.Healthcheck check = config.healthcheck();
        if (!check.test().isEmpty()) {
            json.append(",\"Healthcheck\":{\"Test\":");
            strings(json, check.test());
            json.append(",\"Interval\":")
                    .append(check.interval().toNanos())
                    .append(",\"Timeout\":")
                    .append(check.timeout().toNanos())
                    .append(",\"StartPeriod\":")
                    .append(check.startPeriod().toNanos())
                    .append(",\"Retries\":")
                    .append(check.retries())
                    .append('}');
        }
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
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        json.append('"');
    }
}
