package dev.isolated.internal.shard;

import static dev.isolated.IsolatedConfiguration.SHARD_TOTAL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The error messages the README's "Splitting a suite across CI jobs" quotes are the ones users get. */
@DisplayName("the README's sharding error messages")
class ShardReadmeTests {
    private static final Path README =
            Path.of(System.getProperty("user.dir")).getParent().resolve("README.md");
    private static final Pattern QUOTED =
            Pattern.compile("`([^`]+ (?:is not valid|are not a shard|is not a shard|is set but)[^`]+)`");

    @Test
    @DisplayName("are exactly what the filter throws for the values they name")
    void quotedMessagesAreReal() throws IOException {
        assertThat(quotedMessages())
                .isEqualTo(new TreeSet<>(Set.of(
                        message(() -> Shard.parse("9/8")),
                        message(() -> ClassTimings.read("DIR")), // no DIR in the module's directory
                        message(() -> resolve(Map.of(), Map.of("CI_NODE_INDEX", "0", "CI_NODE_TOTAL", "3"))),
                        message(() -> resolve(Map.of(SHARD_TOTAL, "8"), Map.of("JOB_COMPLETION_INDEX", "8"))),
                        message(() -> resolve(Map.of(SHARD_TOTAL, "8"), Map.of())))));
    }

    private static Set<String> quotedMessages() throws IOException {
        String readme = Files.readString(README);
        int start = readme.indexOf("\n## Splitting a suite across CI jobs\n");
        assertThat(start).as("the section in " + README).isNotNegative();
        int end = readme.indexOf("\n## ", start + 1);
        Matcher m = QUOTED.matcher(readme.substring(start, end < 0 ? readme.length() : end));
        Set<String> messages = new TreeSet<>();
        while (m.find()) {
            messages.add(m.group(1));
        }
        return messages;
    }

    private static String message(Runnable failing) {
        Throwable thrown = catchThrowable(failing::run);
        assertThat(thrown).isInstanceOf(InvalidShardException.class);
        return thrown.getMessage();
    }

    private static void resolve(Map<String, String> configuration, Map<String, String> environment) {
        ShardResolver.resolve(key -> Optional.ofNullable(configuration.get(key)), environment::get);
    }
}
