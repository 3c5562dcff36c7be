package dev.isolated.internal.json;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON reader (RFC 8259) for image manifests and configs, so that no JSON library is
 * needed at run time.
 *
 * <p>Values become {@code Map<String, Object>} (keys in document order), {@code List<Object>},
 * {@code String}, {@code Long} (integers that fit) or {@code BigDecimal} (other numbers),
 * {@code Boolean} and {@code null}. Refused, with a {@link JsonException} naming the source, line and
 * column: trailing commas, comments, single quotes, leading zeros, control characters inside strings,
 * duplicate keys (two readers could otherwise see two different manifests), text after the value, and
 * nesting deeper than {@value #MAX_DEPTH}.
 */
final class JsonReader {

    static final int MAX_DEPTH = 256;

    private final String text;
    private final String source;
    private int position;
    private int depth;

    private JsonReader(String text, String source) {
        this.text = text;
        this.source = source;
    }

    /**
     * Parses {@code text}, which must hold exactly one JSON value.
     *
     * @param source what the text is, for messages, e.g. {@code "index.json of image app.tar"}
     * @throws JsonException if the text is not valid JSON
     */
    static Object parse(String text, String source) {
        JsonReader reader = new JsonReader(text, source);
        reader.skipWhitespace();
        Object value = reader.value();
        reader.skipWhitespace();
        if (reader.position < text.length()) {
            throw reader.error("unexpected '" + text.charAt(reader.position) + "' after the JSON value");
        }
        return value;
    }

    private Object value() {
        if (position >= text.length()) {
            throw error("unexpected end of input, expected a value");
        }
        char c = text.charAt(position);
        return switch (c) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield number();
                }
                throw error("unexpected '" + c + "', expected a value");
            }
        };
    }

    private Map<String, Object> object() {
        enter();
        position++; // '{'
        Map<String, Object> members = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            position++;
            depth--;
            return members;
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') {
                throw error("expected a member name in double quotes");
            }
            int keyPosition = position;
            String key = string();
            skipWhitespace();
            expect(':');
            skipWhitespace();
            Object value = value();
            if (members.containsKey(key)) {
                position = keyPosition;
                throw error("duplicate member name \"" + key + "\"");
            }
            members.put(key, value);
            skipWhitespace();
            char c = next("',' or '}'");
            if (c == '}') {
                depth--;
                return Collections.unmodifiableMap(members);
            }
            if (c != ',') {
                position--;
                throw error("expected ',' or '}' after a member, found '" + c + "'");
            }
        }
    }

    private List<Object> array() {
        enter();
        position++; // '['
        List<Object> elements = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            position++;
            depth--;
            return elements;
        }
        while (true) {
            skipWhitespace();
            elements.add(value());
            skipWhitespace();
            char c = next("',' or ']'");
            if (c == ']') {
                depth--;
                return Collections.unmodifiableList(elements);
            }
            if (c != ',') {
                position--;
                throw error("expected ',' or ']' after an array element, found '" + c + "'");
            }
        }
    }

    private String string() {
        position++; // '"'
        StringBuilder out = new StringBuilder();
        while (true) {
            char c = next("the closing '\"' of a string");
            if (c == '"') {
                return out.toString();
            }
            if (c < 0x20) {
                position--;
                throw error("unescaped control character " + "U+%04X".formatted((int) c) + " in a string");
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char escape = next("an escape character");
            switch (escape) {
                case '"', '\\', '/' -> out.append(escape);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> out.append(unicodeEscape());
                default -> {
                    position--;
                    throw error("invalid escape '\\" + escape + "'");
                }
            }
        }
    }

    private char unicodeEscape() {
        if (position + 4 > text.length()) {
            throw error("unexpected end of input in a \\u escape");
        }
        int value = 0;
        for (int i = 0; i < 4; i++) {
            int digit = Character.digit(text.charAt(position), 16);
            if (digit < 0) {
                throw error("invalid hex digit '" + text.charAt(position) + "' in a \\u escape");
            }
            value = value * 16 + digit;
            position++;
        }
        return (char) value;
    }

    private Object number() {
        int start = position;
        if (peek() == '-') {
            position++;
        }
        if (peek() == '0') {
            position++;
            if (isDigit(peek())) {
                throw error("leading zero in a number");
            }
        } else if (!digits()) {
            throw error("expected a digit");
        }
        boolean integral = true;
        if (peek() == '.') {
            integral = false;
            position++;
            if (!digits()) {
                throw error("expected a digit after '.'");
            }
        }
        if (peek() == 'e' || peek() == 'E') {
            integral = false;
            position++;
            if (peek() == '+' || peek() == '-') {
                position++;
            }
            if (!digits()) {
                throw error("expected a digit in the exponent");
            }
        }
        String literal = text.substring(start, position);
        if (integral) {
            try {
                return Long.parseLong(literal);
            } catch (NumberFormatException tooBig) {
                return new BigDecimal(literal);
            }
        }
        return new BigDecimal(literal);
    }

    private boolean digits() {
        int start = position;
        while (isDigit(peek())) {
            position++;
        }
        return position > start;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private Object literal(String word, Object value) {
        if (!text.startsWith(word, position)) {
            throw error("unexpected '" + text.charAt(position) + "', expected a value");
        }
        position += word.length();
        return value;
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw error("nested deeper than " + MAX_DEPTH + " levels");
        }
    }

    private void expect(char wanted) {
        char c = next("'" + wanted + "'");
        if (c != wanted) {
            position--;
            throw error("expected '" + wanted + "', found '" + c + "'");
        }
    }

    /** The next character, or 0 at the end. */
    private char peek() {
        return position < text.length() ? text.charAt(position) : 0;
    }

    private char next(String expected) {
        if (position >= text.length()) {
            throw error("unexpected end of input, expected " + expected);
        }
        return text.charAt(position++);
    }

    private void skipWhitespace() {
        while (position < text.length()) {
            char c = text.charAt(position);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            position++;
        }
    }

    private JsonException error(String what) {
        int line = 1;
        int column = 1;
        for (int i = 0; i < position && i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                column = 1;
            } else {
                column++;
            }
        }
        return new JsonException(source + " is not valid JSON: " + what + " at line " + line + ", column " + column);
    }
}
