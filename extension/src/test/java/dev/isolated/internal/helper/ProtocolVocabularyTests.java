package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The protocol's vocabulary in its three places, checked both ways: native/PROTOCOL.md's tables (the spec),
 * the JVM's {@link FrameType} and {@link FailureKind}, and the helper's {@code protocol.h}. A letter, name or
 * kind added, dropped or changed in one place and not in the others fails here.
 */
@DisplayName("the protocol's vocabulary")
class ProtocolVocabularyTests {
    private static final Path NATIVE = Path.of("../native").toAbsolutePath().normalize();
    private static final Path PROTOCOL_MD = NATIVE.resolve("PROTOCOL.md");
    private static final Path PROTOCOL_H = NATIVE.resolve("src/main/c/protocol.h");

    /** A table row of PROTOCOL.md whose first two cells are {@code `L` | NAME}. */
    private static final Pattern TYPE_ROW = Pattern.compile("^\\| `(.)` \\| ([A-Z][A-Z-]*) \\|");
    /** A row of the failure kinds table: {@code | `kind` | meaning |}. */
    private static final Pattern KIND_ROW = Pattern.compile("^\\| `([a-z-]+)` \\|");
    /** An enumerator of protocol.h's frame enums: {@code FRAME_NAME = 'L',}. */
    private static final Pattern C_FRAME = Pattern.compile("^\\s*FRAME_(\\w+) = '(.)',\\s*$");
    /** An enumerator of protocol.h's failure_kind enum: {@code KIND_NAME,}. */
    private static final Pattern C_KIND = Pattern.compile("^\\s*KIND_(\\w+),\\s*$");
    /** One entry of FAILURE_KIND_NAMES: {@code [KIND_NAME] = "name"}. */
    private static final Pattern C_KIND_NAME = Pattern.compile("\\[KIND_(\\w+)\\] = \"([a-z-]+)\"");

    @Test
    @DisplayName("requests: PROTOCOL.md's table, FrameType and protocol.h's enum request_type name the same letters")
    void requests() throws IOException {
        Map<Character, String> spec = typeTable(section("## Requests (JVM → helper)"));

        assertThat(spec).as("the table of requests in PROTOCOL.md").isNotEmpty();
        assertThat(javaTypes(FrameType.Direction.REQUEST))
                .as("FrameType's requests")
                .isEqualTo(spec);
        assertThat(cEnum("request_type")).as("enum request_type of protocol.h").isEqualTo(spec);
    }

    @Test
    @DisplayName(
            "replies and events: PROTOCOL.md's table, FrameType and protocol.h's enum reply_type name the same letters")
    void replies() throws IOException {
        Map<Character, String> spec = typeTable(section("## Replies and events (helper → JVM)"));

        assertThat(spec).as("the table of replies and events in PROTOCOL.md").isNotEmpty();
        assertThat(javaTypes(FrameType.Direction.REPLY))
                .as("FrameType's replies")
                .isEqualTo(spec);
        assertThat(cEnum("reply_type")).as("enum reply_type of protocol.h").isEqualTo(spec);
    }

    @Test
    @DisplayName(
            "failure kinds: PROTOCOL.md's table, FailureKind and protocol.h's FAILURE_KIND_NAMES name the same kinds")
    void failureKinds() throws IOException {
        List<String> spec = new ArrayList<>();
        for (String line : section("## Failure kinds")) {
            Matcher m = KIND_ROW.matcher(line);
            if (m.find()) {
                spec.add(m.group(1));
            }
        }
        String header = Files.readString(PROTOCOL_H);
        Map<String, String> cNames = new LinkedHashMap<>();
        Matcher m = C_KIND_NAME.matcher(header);
        while (m.find()) {
            cNames.put(m.group(1), m.group(2));
        }
        List<String> cEnumerators = enumBody(header, "failure_kind").stream()
                .map(C_KIND::matcher)
                .filter(Matcher::matches)
                .map(e -> e.group(1))
                .toList();

        assertThat(spec).as("the failure kinds table in PROTOCOL.md").isNotEmpty();
        assertThat(spec.stream().map(FailureKind::ofWireName))
                .as("FailureKind, by its kind= names")
                .containsExactlyElementsOf(
                        Arrays.stream(FailureKind.values()).map(Optional::of).toList());
        assertThat(Arrays.stream(FailureKind.values()).map(FailureKind::name))
                .as("FailureKind's constants")
                .containsExactlyElementsOf(cEnumerators);
        assertThat(cNames.values()).as("FAILURE_KIND_NAMES of protocol.h").containsExactlyElementsOf(spec);
        assertThat(cNames.keySet())
                .as("FAILURE_KIND_NAMES names every enumerator of enum failure_kind")
                .containsExactlyElementsOf(cEnumerators);
        assertThat(section("## Replies and events (helper → JVM)"))
                .as("the ERROR row names kind= and its values")
                .anyMatch(
                        line -> line.startsWith("| `E` |") && line.contains("`kind=" + String.join("\\|", spec) + "`"));
    }

    @Test
    @DisplayName("the helper's sources send and compare frame types through protocol.h, never as bare letters")
    void helperUsesTheHeader() throws IOException {
        Pattern bareLetter = Pattern.compile(
                "send_(?:record|frame)\\([^,]+, '.'|type\\s*[!=]=\\s*'.'|case '.':|strchr\\(\"[A-Za-z]+\", frame");
        List<String> offending = new ArrayList<>();
        try (Stream<Path> sources = Files.list(NATIVE.resolve("src/main/c"))) {
            for (Path source :
                    sources.filter(p -> p.toString().endsWith(".c")).sorted().toList()) {
                List<String> lines = Files.readAllLines(source);
                for (int i = 0; i < lines.size(); i++) {
                    String line = lines.get(i);
                    boolean frameCode = line.contains("frame") || line.contains("send_") || source.endsWith("serve.c");
                    if (frameCode && bareLetter.matcher(line).find()) {
                        offending.add(source.getFileName() + ":" + (i + 1) + ": " + line.strip());
                    }
                }
            }
        }
        assertThat(offending)
                .as("frame letters written out instead of protocol.h's FRAME_* names")
                .isEmpty();
        assertThat(Files.readString(NATIVE.resolve("src/main/c/serve.c"))).contains("#include \"proto.h\"");
        assertThat(Files.readString(NATIVE.resolve("src/main/c/proto.h"))).contains("#include \"protocol.h\"");
    }

    @Test
    @DisplayName("a frame type's letter reads back as that type, and a letter PROTOCOL.md lacks as none")
    void lettersRoundTrip() {
        for (FrameType type : FrameType.values()) {
            assertThat(FrameType.ofLetter(type.letter())).contains(type);
        }
        assertThat(FrameType.ofLetter('Z')).isEmpty();
        assertThat(FailureKind.ofWireName("host")).contains(FailureKind.HOST);
        assertThat(FailureKind.ofWireName("bogus")).isEmpty();
    }

    /** The lines of PROTOCOL.md from HEADING to the next heading of the same level. */
    private static List<String> section(String heading) throws IOException {
        List<String> lines = Files.readAllLines(PROTOCOL_MD);
        int start = lines.indexOf(heading);
        assertThat(start).as("PROTOCOL.md has a section %s", heading).isNotNegative();
        List<String> body = new ArrayList<>();
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("## ")) {
                break;
            }
            body.add(line);
        }
        return body;
    }

    private static Map<Character, String> typeTable(List<String> lines) {
        Map<Character, String> table = new LinkedHashMap<>();
        for (String line : lines) {
            Matcher m = TYPE_ROW.matcher(line);
            if (m.find()) {
                assertThat(table.put(m.group(1).charAt(0), m.group(2)))
                        .as("letter %s listed once", m.group(1))
                        .isNull();
            }
        }
        return table;
    }

    private static Map<Character, String> javaTypes(FrameType.Direction direction) {
        return Arrays.stream(FrameType.values())
                .filter(t -> t.direction() == direction)
                .collect(Collectors.toMap(FrameType::letter, FrameType::protocolName, (a, b) -> a, LinkedHashMap::new));
    }

    /** The {@code FRAME_NAME = 'L'} enumerators of {@code enum NAME} in protocol.h, as letter to PROTOCOL.md name. */
    private static Map<Character, String> cEnum(String name) throws IOException {
        Map<Character, String> entries = new LinkedHashMap<>();
        for (String line : enumBody(Files.readString(PROTOCOL_H), name)) {
            Matcher m = C_FRAME.matcher(line);
            assertThat(m.matches())
                    .as("enum %s: one FRAME_NAME = 'L', a line: %s", name, line)
                    .isTrue();
            assertThat(entries.put(m.group(2).charAt(0), m.group(1).replace('_', '-')))
                    .as("letter %s listed once in enum %s", m.group(2), name)
                    .isNull();
        }
        return entries;
    }

    /** The non-blank lines between {@code enum NAME {} and its {@code };}. */
    private static List<String> enumBody(String header, String name) {
        int start = header.indexOf("enum " + name + " {");
        assertThat(start).as("protocol.h declares enum %s", name).isNotNegative();
        int end = header.indexOf("};", start);
        return header.substring(header.indexOf('\n', start) + 1, end)
                .lines()
                .filter(l -> !l.isBlank())
                .toList();
    }
}
