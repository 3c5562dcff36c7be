package dev.isolated.samples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Command;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedProcess;
import dev.isolated.LinuxNamespace;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Two environments on a private network of their own: the client reaches the server by name, and nothing of it
 * exists on the host's interfaces. Works rootless too.
 */
class ClientAndServerOnAPrivateNetworkTests {

    @Test
    void aClientTalksToAServerByName() throws Exception {
        try (IsolatedEnvironment server = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .hostname("server")
                        .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.NET)
                        .network("shop")
                        .start();
                IsolatedEnvironment client = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .hostname("client")
                        .namespaces(LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.NET)
                        .network("shop")
                        .start()) {
            IsolatedProcess listener =
                    server.start(Command.of("nc", "-l", "-p", "7000").withOpenStdin());
            server.awaitPort(7000);
            IsolatedProcess caller =
                    client.start(Command.of("nc", "server", "7000").withOpenStdin());

            caller.stdin().write("order-42\n".getBytes(StandardCharsets.UTF_8));
            listener.awaitOutput(Pattern.compile("^order-42$"));
            listener.stdin().write("accepted\n".getBytes(StandardCharsets.UTF_8));
            caller.awaitOutput(Pattern.compile("^accepted$"));

            assertThat(client.exec("ip", "-o", "-4", "addr", "show", "eth0").stdout())
                    .contains("10.213.");
            assertThat(server.address()).startsWith("10.213.");
        }
    }
}
