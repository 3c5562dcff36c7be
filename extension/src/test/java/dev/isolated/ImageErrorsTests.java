package dev.isolated;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageException;
import dev.isolated.internal.image.ImageSettingsException;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What a test gets when its image cannot be used: the types IsolatedEnvironmentBuilder.start() documents. */
@DisplayName("image failures reach a test as ImageException, a wrong image setting as IsolatedException")
class ImageErrorsTests {

    @Test
    @DisplayName("a rootfs that is nowhere is an ImageException listing the places tried")
    void notFound() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("no-such-image-anywhere.tar")
                        .start())
                .isInstanceOf(ImageException.class)
                .hasMessageStartingWith("Image 'no-such-image-anywhere.tar' not found. Tried:\n");
    }

    @Test
    @DisplayName("an invalid isolated.pull is an IsolatedException with the image code's message")
    void invalidPullSetting() {
        Map<String, String> settings = Map.of(IsolatedConfiguration.PULL, "sometimes");
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .configuration(key -> Optional.ofNullable(settings.get(key)))
                        .image("127.0.0.1:1/team/app:1")
                        .start())
                .isInstanceOf(IsolatedException.class)
                .isNotInstanceOf(ImageException.class)
                .hasMessage("isolated.pull=sometimes is not valid: write missing, always or never")
                .hasCauseInstanceOf(ImageSettingsException.class);
    }
}
