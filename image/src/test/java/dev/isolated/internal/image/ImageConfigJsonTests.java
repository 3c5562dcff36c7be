package dev.isolated.internal.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.json.JsonObject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ImageConfigJsonTests {

    @Test
    @DisplayName("the cache's config.json round-trips every character")
    void configRoundTrip() {
        ImageConfig config = new ImageConfig(List.of("A=\"q\" \\ \n\u0001 é"), "/w d", "", List.of(), List.of("x"));

        assertThat(ImageConfigJson.read(JsonObject.parse(ImageConfigJson.write(config), "config.json")))
                .isEqualTo(config);
    }

    @Test
    @DisplayName("Docker's Healthcheck is read (nanoseconds; 0 or missing is Docker's default) and round-trips")
    void healthcheck() {
        ImageConfig read = ImageConfigJson.read(JsonObject.parse(
                "{\"config\":{\"Healthcheck\":{\"Test\":[\"CMD-SHELL\","
                        + "\"wget -q -O- http://localhost/ || exit 1\"],\"Interval\":5000000000,\"Timeout\":0,"
                        + "\"StartPeriod\":1500000000,\"Retries\":2}}}",
                "config"));

        ImageConfig.Healthcheck check = read.healthcheck();
        assertThat(check.test()).containsExactly("CMD-SHELL", "wget -q -O- http://localhost/ || exit 1");
        assertThat(check.interval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(check.timeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(check.startPeriod()).isEqualTo(Duration.ofMillis(1500));
        assertThat(check.retries()).isEqualTo(2);
        assertThat(check.isDeclared()).isTrue();
        assertThat(check.command()).containsExactly("/bin/sh", "-c", "wget -q -O- http://localhost/ || exit 1");
        assertThat(ImageConfigJson.read(JsonObject.parse(ImageConfigJson.write(read), "config.json")))
                .isEqualTo(read);
    }

    @Test
    @DisplayName("a config without Healthcheck has NONE; Test [\"NONE\"] is kept but declares no check")
    void noHealthcheck() {
        assertThat(ImageConfigJson.read(JsonObject.parse("{\"config\":{\"Cmd\":[\"x\"]}}", "config"))
                        .healthcheck())
                .isEqualTo(ImageConfig.Healthcheck.NONE);
        ImageConfig.Healthcheck off = ImageConfigJson.read(
                        JsonObject.parse("{\"config\":{\"Healthcheck\":{\"Test\":[\"NONE\"]}}}", "config"))
                .healthcheck();
        assertThat(off.isDeclared()).isFalse();
        assertThat(off.retries()).isEqualTo(3);
        assertThat(ImageConfig.Healthcheck.NONE.isDeclared()).isFalse();
        assertThat(new ImageConfig.Healthcheck(List.of("CMD", "true"), null, null, null, 0).command())
                .containsExactly("true");
    }

    @Test
    @DisplayName("a Test of a form Docker does not run is declared, and command() refuses it quoting it")
    void malformedHealthcheck() {
        for (List<String> test : List.of(List.of("CMD"), List.of("CMD-SHELL"), List.of("CMD-SHELL", "a", "b"))) {
            ImageConfig.Healthcheck check = new ImageConfig.Healthcheck(test, null, null, null, 0);
            assertThat(check.isDeclared()).as("%s", test).isTrue();
            assertThatThrownBy(check::command)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith(
                            "The image's HEALTHCHECK has a Test of a form Docker does not run: " + test);
        }
    }
}
