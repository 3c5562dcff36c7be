package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.ProtocolAssertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The helper decides that every env has a user namespace, and its CREATED reply says which namespaces the env
 * has ({@code ns=}), so that the JVM reports those rather than repeat the rule.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper serve: CREATED names the env's namespaces")
class HelperCreatedNamespacesTests extends AbstractHelperCliTests {

    @Test
    @DisplayName("ns= of CREATED is the CREATE's ns= plus user, in the helper's order")
    void userIsAdded() throws Exception {
        try (ProtocolClient server = new ProtocolClient(tmp.resolve("state"))) {
            assertThat(server.create(1, "rootfs=" + rootfs, "ns=uts,mount,pid"))
                    .containsEntry("ns", "user,pid,mount,uts");
            assertThat(server.create(2, "rootfs=" + rootfs, "ns=")).containsEntry("ns", "user");
            assertThat(server.create(3, "rootfs=" + rootfs, "ns=user,net,ipc,cgroup"))
                    .containsEntry("ns", "user,ipc,net,cgroup");
        }
    }
}
