package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.testimages.DebianImages;
import dev.isolated.testimages.RootfsLayer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A real distribution image by name (issue 12): Debian bookworm minbase and minbase + redis-server, built by
 * .ci/install-deps with debootstrap, pushed as two-layer OCI images to a registry on 127.0.0.1 (see
 * {@link DebianImages}) and pulled through {@code IsolatedEnvironment.builder().image(...)}.
 */
@DisplayName("A Debian image with a service, by name")
class DebianImageTests {

    private static DebianImages images;

    @BeforeAll
    static void push() throws Exception {
        images = DebianImages.start(DebianImages.MINBASE, DebianImages.REDIS, DebianImages.POSTGRES);
        System.setProperty(IsolatedConfiguration.REGISTRY_INSECURE, images.host());
    }

    @AfterAll
    static void stop() {
        System.clearProperty(IsolatedConfiguration.REGISTRY_INSECURE);
        if (images != null) {
            images.close();
        }
    }

    @Test
    @DisplayName("the redis image's Env, WorkingDir and User apply to its commands; Cmd is env.imageCommand()")
    void configApplies() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .image(images.name(DebianImages.REDIS))
                .start()) {
            assertThat(env.exec("id", "-un")).succeeded().stdout().isEqualTo("redis\n");
            assertThat(env.exec("pwd")).succeeded().stdout().isEqualTo("/var/lib/redis\n");
            assertThat(env.exec("sh", "-c", "echo $PATH"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
            assertThat(env.imageConfig().user()).isEqualTo("redis");
            assertThat(env.imageCommand().argv()).startsWith("redis-server", "--port", "6379");
            assertThat(env.exec("redis-server", "--version"))
                    .succeeded()
                    .stdout()
                    .startsWith("Redis server v=7.");
            assertThat(env.exec("sh", "-c", ". /etc/os-release && echo $VERSION_CODENAME"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("bookworm\n");
        }
    }

    @Test
    @DisplayName("the postgresql image's command starts the cluster its package made, as postgres, on port 5432")
    void postgresStarts() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .image(images.name(DebianImages.POSTGRES))
                .start()) {
            // It listens on 5432 before it accepts connections ("the database system is starting up"): wait for the
            // line.
            IsolatedProcess postgres =
                    env.startImageCommand(Wait.forLogLine("database system is ready to accept connections"));
            assertThat(env.exec("psql", "-At", "-c", "select current_user || ' ' || version()"))
                    .succeeded()
                    .stdout()
                    .startsWith("postgres PostgreSQL 15.");
            assertThat(postgres.isAlive()).isTrue();
        }
    }

    @Test
    @DisplayName("the redis image is the minbase layer and a second layer with redis-server, and only that")
    void serviceIsASecondLayer() throws Exception {
        List<RootfsLayer.Written> minbase = images.layers(DebianImages.MINBASE);
        List<RootfsLayer.Written> redis = images.layers(DebianImages.REDIS);
        assertThat(minbase).hasSize(1);
        assertThat(redis).hasSize(2);
        assertThat(redis.get(0).digest()).isEqualTo(minbase.get(0).digest());
        assertThat(redis.get(1).size()).isLessThan(minbase.get(0).size() / 2);

        // What the registry serves for the tag: the same two layers.
        String manifest = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://" + images.host() + "/v2/redis/manifests/7-bookworm"))
                                .header("Accept", "application/vnd.oci.image.manifest.v1+json")
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        assertThat(manifest)
                .containsSubsequence(redis.get(0).digest(), redis.get(1).digest());

        try (IsolatedEnvironment base = IsolatedEnvironment.builder()
                        .image(images.name(DebianImages.MINBASE))
                        .start();
                IsolatedEnvironment service = IsolatedEnvironment.builder()
                        .image(images.name(DebianImages.REDIS))
                        .start()) {
            assertThat(base.exec("sh", "-c", "test -e /usr/bin/redis-server")).exitedWith(1);
            assertThat(service.exec("ls", "-ln", "/usr/bin/redis-server")).succeeded();
            // Both have the base's files, and redis' account is only in the service layer's /etc/passwd.
            assertThat(base.exec("sh", "-c", "test -x /usr/bin/apt-get && ! grep -q ^redis: /etc/passwd"))
                    .succeeded();
            assertThat(service.exec("sh", "-c", "test -x /usr/bin/apt-get && grep -q ^redis: /etc/passwd"))
                    .succeeded();
        }
    }
}
