package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.image.SettingNames;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The README's configuration table and {@link IsolatedConfiguration} name the same keys, and no key is read
 * without being declared there.
 */
@DisplayName("configuration keys")
class ConfigurationKeysReadmeTests {
    private static final Path MODULE = Paths.get(System.getProperty("user.dir"));
    private static final Path README = MODULE.getParent().resolve("README.md");
    private static final Pattern KEY = Pattern.compile("`(isolated\\.[A-Za-z0-9.]+)`");

    @Test
    @DisplayName("the README's configuration table lists exactly the keys of IsolatedConfiguration")
    void readmeTableMatchesTheConstants() throws Exception {
        assertThat(tableKeys()).isEqualTo(declaredKeys());
    }

    @Test
    @DisplayName("every key is lowerCamelCase after 'isolated.'")
    void oneNamingStyle() throws Exception {
        assertThat(declaredKeys()).allSatisfy(key -> assertThat(key).matches("isolated(\\.[a-z][A-Za-z0-9]*)+"));
    }

    @Test
    @DisplayName(
            "no main source but IsolatedConfiguration and the image module's SettingNames spells out an \"isolated.\" key")
    void keysAreDeclaredInOnePlace() throws IOException {
        Path image = MODULE.getParent().resolve("image/src/main/java");
        Set<Path> declaring = Set.of(
                MODULE.resolve("src/main/java/dev/isolated/IsolatedConfiguration.java"),
                image.resolve("dev/isolated/internal/image/SettingNames.java"));
        List<String> offenders = new ArrayList<>();
        for (Path sources : List.of(MODULE.resolve("src/main/java"), image)) {
            try (Stream<Path> files = Files.walk(sources)) {
                for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".java"))::iterator) {
                    if (!declaring.contains(file) && Files.readString(file).contains("\"isolated.")) {
                        offenders.add(MODULE.getParent().relativize(file).toString());
                    }
                }
            }
        }
        assertThat(offenders)
                .as("sources with a literal \"isolated.… key; declare it in IsolatedConfiguration")
                .isEmpty();
    }

    @Test
    @DisplayName("every key the image module spells (SettingNames) is a key of IsolatedConfiguration")
    void imageKeysAreConfigurationKeys() throws Exception {
        Set<String> imageKeys = new TreeSet<>();
        for (Field field : SettingNames.class.getDeclaredFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == String.class) {
                imageKeys.add((String) field.get(null));
            }
        }
        assertThat(imageKeys).isNotEmpty();
        assertThat(declaredKeys()).containsAll(imageKeys);
    }

    private static Set<String> declaredKeys() throws IllegalAccessException {
        Set<String> keys = new TreeSet<>();
        for (Field field : IsolatedConfiguration.class.getDeclaredFields()) {
            if (Modifier.isStatic(field.getModifiers()) && field.getType() == String.class) {
                String value = (String) field.get(null);
                if (value.startsWith("isolated.")) {
                    keys.add(value);
                }
            }
        }
        return keys;
    }

    /** The backticked keys in the first column of the table under "### Configuration". */
    private static Set<String> tableKeys() throws IOException {
        List<String> lines = Files.readAllLines(README);
        int start = lines.indexOf("### Configuration");
        assertThat(start).as("a '### Configuration' section in " + README).isNotNegative();
        Set<String> keys = new TreeSet<>();
        boolean inTable = false;
        for (String line : lines.subList(start + 1, lines.size())) {
            if (line.startsWith("#")) {
                break;
            }
            if (!line.startsWith("|")) {
                if (inTable) {
                    break;
                }
                continue;
            }
            inTable = true;
            String firstColumn = line.split("\\|")[1];
            Matcher m = KEY.matcher(firstColumn);
            while (m.find()) {
                keys.add(m.group(1));
            }
        }
        assertThat(keys).as("keys in the configuration table of " + README).isNotEmpty();
        return keys;
    }
}
