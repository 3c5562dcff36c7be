package dev.isolated.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@DisplayName("image names, as Docker reads them")
class ImageNameTests {

    private static final String DIGEST = "sha256:" + "ab".repeat(32);

    @ParameterizedTest(name = "{0} is {1}")
    @CsvSource({
        "postgres:16, docker.io/library/postgres:16",
        "postgres, docker.io/library/postgres:latest",
        "bitnami/redis, docker.io/bitnami/redis:latest",
        "index.docker.io/library/busybox:1, docker.io/library/busybox:1",
        "docker.io/busybox, docker.io/library/busybox:latest",
        "localhost:5000/x, localhost:5000/x:latest",
        "localhost/x:2, localhost/x:2",
        "ghcr.io/org/app:1.4, ghcr.io/org/app:1.4",
        "127.0.0.1:5000/a/b:1, 127.0.0.1:5000/a/b:1",
        "[::1]:5000/a:1, [::1]:5000/a:1",
    })
    void parses(String name, String full) {
        assertThat(ImageName.parse(name).toString()).isEqualTo(full);
    }

    @Test
    @DisplayName("a digest pins the manifest; a tag beside it is kept for messages only")
    void digest() {
        ImageName name = ImageName.parse("ghcr.io/org/app:1.4@" + DIGEST);
        assertThat(name.registry()).isEqualTo("ghcr.io");
        assertThat(name.repository()).isEqualTo("org/app");
        assertThat(name.version()).isEqualTo(DIGEST);
        assertThat(ImageName.parse("127.0.0.1:5000/a/b@" + DIGEST).tag()).isNull();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "Foo/bar|the repository path 'Foo/bar' has the component 'Foo'",
                "foo/Bar|the repository path 'foo/Bar' has the component 'Bar'",
                "busybox@sha256:12|the digest 'sha256:12' is not sha256:<64 lowercase hex digits>",
                "busybox:-x|the tag '-x' is not a tag",
                "a//b|the repository path 'a//b' has the component ''",
            })
    void refuses(String name, String why) {
        assertThatThrownBy(() -> ImageName.parse(name))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Image name '" + name + "' is not valid: " + why);
    }

    @Test
    @DisplayName("a bare 64-hex-digit string is an image ID, refused")
    void bareHex() {
        assertThatThrownBy(() -> ImageName.parse("ab".repeat(32))).hasMessageContaining("is an image ID");
    }
}
