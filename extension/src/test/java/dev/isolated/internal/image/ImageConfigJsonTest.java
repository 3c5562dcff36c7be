package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ImageConfigJsonTest {

    @Test
    @DisplayName("the cache's config.json round-trips every character")
    void configRoundTrip() {
        ImageConfig config = new ImageConfig(List.of("A=\"q\" \\ \n\u0001 é"), "/w d", "", List.of(), List.of("x"));

        assertThat(ImageConfigJson.read(JsonObject.parse(ImageConfigJson.write(config), "config.json"))).isEqualTo(config);
    }
}
