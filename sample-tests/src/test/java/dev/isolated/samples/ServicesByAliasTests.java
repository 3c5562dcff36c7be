package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedNetwork;
import dev.isolated.OnNetwork;
import org.junit.jupiter.api.Test;

/**
 * Two services on a network of the test's own, one reached by an alias, as with Docker's network aliases: the
 * network is made for the test and closed after it, so tests running in parallel (as the samples do) never
 * share one, even with the same hostnames and aliases.
 */
@Isolated(rootfs = "busybox.tar")
class ServicesByAliasTests {

    @Test
    void appReachesTheApiByAlias(
            IsolatedNetwork backend,
            @Isolated(hostname = "api-1")
                    @OnNetwork(
                            value = "backend",
                            aliases = {"api", "orders-api"})
                    IsolatedEnvironment api,
            @Isolated(hostname = "app") @OnNetwork("backend") IsolatedEnvironment app) {
        api.writeString("/srv/orders", "[\"order-42\"]\n");
        api.start("httpd", "-f", "-p", "8080", "-h", "/srv");
        api.awaitPort(8080);

        assertThat(app.exec("wget", "-qO-", "http://api:8080/orders"))
                .succeeded()
                .stdout()
                .isEqualTo("[\"order-42\"]\n");
        assertThat(app.exec("wget", "-qO-", "http://orders-api:8080/orders")).succeeded();
        assertThat(backend.members()).containsExactly(api, app);
    }
}
