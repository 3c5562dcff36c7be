package dev.isolated.internal.json;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A JSON object read by {@link JsonReader}, with typed getters whose errors name the document and the
 * field path ({@code manifests[0].digest}).
 *
 * @param members the object's members
 * @param source the document, for messages, e.g. {@code "index.json of image app.tar"}
 * @param path where this object sits in the document, empty for the top level
 */
public record JsonObject(Map<String, Object> members, String source, String path) {

    /**
     * Parses {@code text}, which must be a JSON object.
     *
     * @throws JsonException if it is not valid JSON or not an object
     */
    public static JsonObject parse(String text, String source) {
        Object value = JsonReader.parse(text, source);
        if (!(value instanceof Map<?, ?>)) {
            throw new JsonException(source + " must hold a JSON object, found " + kind(value));
        }
        return of(value, source, "");
    }

    /** Parses {@code text}, which must be a JSON array of objects. */
    public static List<JsonObject> parseArray(String text, String source) {
        Object value = JsonReader.parse(text, source);
        if (!(value instanceof List<?> list)) {
            throw new JsonException(source + " must hold a JSON array, found " + kind(value));
        }
        return objects(list, source, "");
    }

    /** Whether the member is present (even if {@code null}). */
    public boolean has(String key) {
        return members.containsKey(key);
    }

    /** A required string member. */
    public String string(String key) {
        String value = optionalString(key);
        if (value == null) {
            throw missing(key, "a string");
        }
        return value;
    }

    /** A required boolean member. */
    public boolean bool(String key) {
        Object value = members.get(key);
        if (value instanceof Boolean b) {
            return b;
        }
        throw value == null ? missing(key, "a boolean") : wrongType(key, "a boolean", value);
    }

    /** A string member, or {@code null} when absent or {@code null}. */
    public String optionalString(String key) {
        Object value = members.get(key);
        if (value == null || value instanceof String) {
            return (String) value;
        }
        throw wrongType(key, "a string", value);
    }

    /** A required integer member. */
    public long integer(String key) {
        Object value = members.get(key);
        if (value instanceof Long number) {
            return number;
        }
        if (value == null) {
            throw missing(key, "an integer");
        }
        throw wrongType(key, "an integer", value);
    }

    /** An object member, or {@code null} when absent or {@code null}. */
    public JsonObject optionalObject(String key) {
        Object value = members.get(key);
        if (value == null) {
            return null;
        }
        if (value instanceof Map<?, ?>) {
            return of(value, source, child(key));
        }
        throw wrongType(key, "an object", value);
    }

    /** A required object member. */
    public JsonObject object(String key) {
        JsonObject value = optionalObject(key);
        if (value == null) {
            throw missing(key, "an object");
        }
        return value;
    }

    /** An array of objects; absent or {@code null} gives an empty list. */
    public List<JsonObject> objects(String key) {
        Object value = members.get(key);
        if (value == null) {
            return List.of();
        }
        if (value instanceof List<?> list) {
            return objects(list, source, child(key));
        }
        throw wrongType(key, "an array", value);
    }

    /** An array of strings, or {@code null} when absent or {@code null}. */
    public List<String> optionalStrings(String key) {
        Object value = members.get(key);
        if (value == null) {
            return null;
        }
        if (!(value instanceof List<?> list)) {
            throw wrongType(key, "an array of strings", value);
        }
        List<String> strings = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            if (!(list.get(i) instanceof String string)) {
                throw new JsonException(
                        source + ": " + child(key) + "[" + i + "] must be a string, found " + kind(list.get(i)));
            }
            strings.add(string);
        }
        return List.copyOf(strings);
    }

    /** A string-to-string map (such as {@code annotations}); absent or {@code null} gives an empty map. */
    public Map<String, String> stringMap(String key) {
        JsonObject object = optionalObject(key);
        if (object == null) {
            return Map.of();
        }
        for (String name : object.members.keySet()) {
            object.string(name);
        }
        @SuppressWarnings("unchecked")
        Map<String, String> strings = (Map<String, String>) (Map<String, ?>) object.members;
        return strings;
    }

    /** Where {@code key} sits, for messages. */
    public String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private JsonException missing(String key, String what) {
        return new JsonException(source + ": " + child(key) + " must be " + what + ", but it is missing");
    }

    private JsonException wrongType(String key, String what, Object value) {
        return new JsonException(source + ": " + child(key) + " must be " + what + ", found " + kind(value));
    }

    private static List<JsonObject> objects(List<?> list, String source, String path) {
        List<JsonObject> objects = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            Object element = list.get(i);
            String elementPath = path + "[" + i + "]";
            if (!(element instanceof Map<?, ?>)) {
                throw new JsonException(source + ": " + elementPath + " must be an object, found " + kind(element));
            }
            objects.add(of(element, source, elementPath));
        }
        return objects;
    }

    @SuppressWarnings("unchecked")
    private static JsonObject of(Object map, String source, String path) {
        return new JsonObject((Map<String, Object>) map, source, path);
    }

    private static String kind(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof String) {
            return "a string";
        }
        if (value instanceof Boolean) {
            return "a boolean";
        }
        if (value instanceof List<?>) {
            return "an array";
        }
        if (value instanceof Map<?, ?>) {
            return "an object";
        }
        return "a number";
    }
}
