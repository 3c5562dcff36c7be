package dev.isolated.internal.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** When Isolated names the native-access flag, and that the README quotes its line as it is. */
@DisplayName("NativeAccess")
class NativeAccessCheckTests {
    private static final String FLAG = "--enable-native-access=ALL-UNNAMED";

    @Test
    @DisplayName("on Java 24+ without native access: the README's quoted line, word for word")
    void readmeQuotesTheLine() throws IOException {
        String readme =
                Files.readString(Path.of("").toAbsolutePath().getParent().resolve("README.md"));
        String quoted = readme.lines()
                .filter(l -> l.startsWith("[isolated] Java 25 "))
                .findFirst()
                .orElseThrow();

        assertThat(NativeAccess.missingFlagMessage(25, false, FLAG, List.of())).contains(quoted);
    }

    @Test
    @DisplayName("nothing before Java 24, with native access, or with --illegal-native-access=allow")
    void silentOtherwise() {
        assertThat(NativeAccess.missingFlagMessage(23, false, FLAG, List.of())).isEmpty();
        assertThat(NativeAccess.missingFlagMessage(25, true, FLAG, List.of())).isEmpty();
        assertThat(NativeAccess.missingFlagMessage(25, false, FLAG, List.of("--illegal-native-access=allow")))
                .isEmpty();
    }

    @Test
    @DisplayName("names ALL-UNNAMED for JNA on the class path, its module's name on the module path")
    void flagForTheModule() {
        assertThat(NativeAccess.flag(NativeAccessCheckTests.class.getModule())).isEqualTo(FLAG);
        assertThat(NativeAccess.flag(String.class.getModule())).isEqualTo("--enable-native-access=java.base");
    }
}
