package dev.isolated.internal.env;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.IsolatedException;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ImageUserTest {
    private static final Map<String, String> FILES = Map.of(
            "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n# comment\nbroken:x\n",
            "/etc/group", "root:x:0:\nweb:x:33:\nadm:x:4:web\n");
    private static final Function<String, Optional<String>> READ = path -> Optional.ofNullable(FILES.get(path));

    @Test
    void nameTakesUidAndPrimaryGroupFromPasswd() {
        assertThat(ImageUser.resolve("web", READ)).isEqualTo(new ImageUser(33, 33));
    }

    @Test
    void groupByNameOrNumber() {
        assertThat(ImageUser.resolve("web:adm", READ)).isEqualTo(new ImageUser(33, 4));
        assertThat(ImageUser.resolve("web:7", READ)).isEqualTo(new ImageUser(33, 7));
    }

    @Test
    void numericUidKnownOrNot() {
        assertThat(ImageUser.resolve("33", READ)).isEqualTo(new ImageUser(33, 33));
        assertThat(ImageUser.resolve("1234", READ)).isEqualTo(new ImageUser(1234, 0));
        assertThat(ImageUser.resolve("1234", path -> Optional.empty())).isEqualTo(new ImageUser(1234, 0));
    }

    @Test
    void unknownNamesAreErrorsNamingTheFile() {
        assertThatThrownBy(() -> ImageUser.resolve("nobody", READ)).isInstanceOf(IsolatedException.class)
                .hasMessageContaining("no user \"nobody\" in the environment's /etc/passwd");
        assertThatThrownBy(() -> ImageUser.resolve("web:wheel", READ)).isInstanceOf(IsolatedException.class)
                .hasMessageContaining("no group \"wheel\" in the environment's /etc/group");
        assertThatThrownBy(() -> ImageUser.resolve("broken", READ)).isInstanceOf(IsolatedException.class);
    }
}
