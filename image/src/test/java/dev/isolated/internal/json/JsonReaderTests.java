package dev.isolated.internal.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonReaderTests {

    @Test
    @DisplayName("reads objects in order, arrays, strings with every escape, numbers, booleans and null")
    void values() {
        Object value = JsonReader.parse(
                " {\"b\": [1, -2, 3.5, 1e3, 0, 12345678901234567890],\n"
                        + "\"a\": \"q\\\"b\\\\s\\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00\", \"t\": true, \"f\": false, \"n\": null,"
                        + " \"o\": {}, \"e\": []} ",
                "test.json");

        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put(
                "b",
                List.of(
                        1L,
                        -2L,
                        new BigDecimal("3.5"),
                        new BigDecimal("1e3"),
                        0L,
                        new BigDecimal("12345678901234567890")));
        expected.put("a", "q\"b\\s/ \b\f\n\r\t \u00e9 \ud83d\ude00");
        expected.put("t", true);
        expected.put("f", false);
        expected.put("n", null);
        expected.put("o", Map.of());
        expected.put("e", List.of());
        assertThat(value).isEqualTo(expected);
        assertThat(((Map<?, ?>) value).keySet().stream().map(Object::toString).toList())
                .containsExactly("b", "a", "t", "f", "n", "o", "e");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "trailing comma in an object | {\"a\": 1,} | expected a member name in double quotes at line 1, column 9",
                "trailing comma in an array  | [1,]       | unexpected ']', expected a value at line 1, column 4",
                "duplicate keys              | {\"a\": 1, \"a\": 2} | duplicate member name \"a\" at line 1, column 10",
                "leading zero                | [01]       | leading zero in a number at line 1, column 3",
                "single quotes               | ['a']      | unexpected ''', expected a value at line 1, column 2",
                "a comment                   | [1 /* x */] | expected ',' or ']' after an array element, found '/' at line 1, column 4",
                "text after the value        | {} x       | unexpected 'x' after the JSON value at line 1, column 4",
                "an unterminated string      | [\"abc     | unexpected end of input, expected the closing '\"' of a string at line 1, column 6",
                "a bad escape                | [\"\\x\"]  | invalid escape '\\x' at line 1, column 4",
                "a bad unicode escape        | [\"\\u12g4\"] | invalid hex digit 'g' in a \\u escape at line 1, column 7",
                "a bare minus                | [-]        | expected a digit at line 1, column 3",
                "a missing exponent          | [1e]       | expected a digit in the exponent at line 1, column 4",
                "nothing at all              | ''         | unexpected end of input, expected a value at line 1, column 1",
                "a misspelt literal          | [nul]      | unexpected 'n', expected a value at line 1, column 2",
            })
    @DisplayName("refuses malformed JSON, naming the file, line and column")
    void malformed(String what, String text, String message) {
        assertThatThrownBy(() -> JsonReader.parse(text, "index.json of image app.tar"))
                .as(what)
                .isInstanceOf(JsonException.class)
                .hasMessage("index.json of image app.tar is not valid JSON: " + message);
    }

    @Test
    @DisplayName("counts lines for the position, and refuses control characters in strings")
    void lineNumbers() {
        assertThatThrownBy(() -> JsonReader.parse("{\n  \"a\": \"x\ty\"\n}", "config.json"))
                .hasMessage("config.json is not valid JSON: unescaped control character U+0009 in a string at line 2, "
                        + "column 10");
    }

    @Test
    @DisplayName("refuses nesting deeper than the limit instead of overflowing the stack")
    void depth() {
        char[] open = new char[JsonReader.MAX_DEPTH + 1];
        Arrays.fill(open, '[');
        assertThatThrownBy(() -> JsonReader.parse(new String(open), "deep.json"))
                .hasMessageContaining("nested deeper than " + JsonReader.MAX_DEPTH + " levels");
    }

    @Test
    @DisplayName("typed getters name the document and the field path")
    void typedGetters() {
        JsonObject index =
                JsonObject.parse("{\"manifests\": [{\"digest\": 5, \"size\": \"x\"}]}", "index.json of image a.tar");
        JsonObject first = index.objects("manifests").get(0);

        assertThatThrownBy(() -> first.string("digest"))
                .hasMessage("index.json of image a.tar: manifests[0].digest must be a string, found a number");
        assertThatThrownBy(() -> first.integer("size"))
                .hasMessage("index.json of image a.tar: manifests[0].size must be an integer, found a string");
        assertThatThrownBy(() -> first.string("mediaType"))
                .hasMessage("index.json of image a.tar: manifests[0].mediaType must be a string, but it is missing");
        assertThatThrownBy(() -> JsonObject.parse("[]", "manifest.json"))
                .hasMessage("manifest.json must hold a JSON object, found an array");
    }
}
