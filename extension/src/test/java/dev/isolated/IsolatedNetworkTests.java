package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("IsolatedNetwork: networks as objects, unique by default, with aliases")
class IsolatedNetworkTests {

    @Test
    @DisplayName("newNetwork() names are unique, also made from many threads at once; members of two networks do not "
            + "reach each other")
    void uniqueNetworks() {
        Set<String> names = ConcurrentHashMap.newKeySet();
        IntStream.range(0, 1000)
                .parallel()
                .forEach(i -> names.add(IsolatedNetwork.newNetwork().name()));
        assertThat(names)
                .hasSize(1000)
                .allSatisfy(n -> assertThat(n).startsWith("isolated-").hasSizeLessThan(16));

        try (IsolatedNetwork one = IsolatedNetwork.newNetwork();
                IsolatedNetwork two = IsolatedNetwork.newNetwork();
                IsolatedEnvironment a = member(one, "a");
                IsolatedEnvironment b = member(two, "b")) {
            assertThat(one.name()).isNotEqualTo(two.name());
            a.start("nc", "-l", "-p", "7000");
            a.awaitPort(7000);
            assertThat(b.exec(connect(a.address(), 7000))).failed();
            assertThat(b.readString("/etc/hosts")).doesNotContain("\ta");
        }
    }

    @Test
    @DisplayName("aliases resolve from another member: wget http://db:8080 and nc postgres 8080")
    void aliases() {
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                IsolatedEnvironment db = member(net, "server", "db", "postgres");
                IsolatedEnvironment app = member(net, "app")) {
            db.writeString("/tmp/index.html", "served to db's alias\n");
            db.start("httpd", "-f", "-p", "8080", "-h", "/tmp");
            db.awaitPort(8080);

            assertThat(app.exec("wget", "-qO-", "http://db:8080/"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("served to db's alias\n");
            assertThat(app.exec("wget", "-qO-", "http://server:8080/")).succeeded();
            assertThat(app.exec(connect("postgres", 8080))).succeeded();
            assertThat(app.readString("/etc/hosts")).contains(db.address() + "\tserver db postgres\n");
            assertThat(net.members()).containsExactly(db, app);
        }
    }

    @Test
    @DisplayName(
            "a builder's member without hostname(...) is named isolated but listed in no /etc/hosts, unless by its "
                    + "aliases: it is reached by address()")
    void unnamedMember() {
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                IsolatedEnvironment unnamed = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .network(net)
                        .start();
                IsolatedEnvironment aliased = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .network(net, "cache")
                        .start();
                IsolatedEnvironment app = member(net, "app")) {
            assertThat(unnamed.hostname()).isEqualTo("isolated");
            unnamed.start("nc", "-l", "-p", "7000");
            unnamed.awaitPort(7000);

            assertThat(app.readString("/etc/hosts"))
                    .isEqualTo("127.0.0.1\tlocalhost\n::1\tlocalhost\n" + aliased.address() + "\tcache\n"
                            + app.address() + "\tapp\n");
            assertThat(app.exec(connect("isolated", 7000))).failed();
            assertThat(app.exec(connect(unnamed.address(), 7000))).succeeded();
        }
    }

    @Test
    @DisplayName("a name two members have resolves to the one that joined first, for every member")
    void sharedNameResolvesToTheFirst() {
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                IsolatedEnvironment first = member(net, "first", "db");
                IsolatedEnvironment second = member(net, "second", "db");
                IsolatedEnvironment app = member(net, "app")) {
            for (IsolatedEnvironment server : List.of(first, second)) {
                server.writeString("/www/index.html", server.hostname() + "\n");
                server.start("httpd", "-f", "-p", "8080", "-h", "/www");
                server.awaitPort(8080);
            }

            assertThat(app.exec("wget", "-qO-", "http://db:8080/"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("first\n");
            assertThat(second.exec("wget", "-qO-", "http://db:8080/"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("first\n");
        }
    }

    @Test
    @DisplayName("a network holds 253 members at once: the 254th fails start() saying so, and a member that closes "
            + "frees its address for the next")
    void fullNetwork() {
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork()) {
            List<IsolatedEnvironment> members = new java.util.ArrayList<>();
            for (int i = 0; i < 253; i++) {
                members.add(member(net, "m" + i));
            }
            assertThatThrownBy(() -> member(net, "one-too-many"))
                    .isInstanceOf(EnvironmentSetupException.class)
                    .hasMessageContaining("stage 'network'")
                    .hasMessageContaining("allocate " + net.name() + ": No space left on device (ENOSPC)")
                    .hasMessageContaining("at most 253 environments per network");
            assertThat(net.members()).hasSize(253);

            String freed = members.get(7).address();
            members.get(7).close();
            try (IsolatedEnvironment next = member(net, "next")) {
                assertThat(next.address()).isEqualTo(freed);
                next.start("nc", "-l", "-p", "7000");
                next.awaitPort(7000);
                assertThat(members.get(252).exec(connect("next", 7000))).succeeded();
            }
        }
    }

    @Test
    @DisplayName("a member whose commands broke its own /etc/hosts (a directory, a FIFO) keeps it so; the others still "
            + "join and reach each other by name")
    void memberBreaksItsOwnHosts() {
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                IsolatedEnvironment dir = member(net, "dir");
                IsolatedEnvironment fifo = member(net, "fifo")) {
            assertThat(dir.exec("sh", "-c", "rm /etc/hosts && mkdir /etc/hosts"))
                    .succeeded();
            assertThat(fifo.exec("sh", "-c", "rm /etc/hosts && mkfifo /etc/hosts"))
                    .succeeded();

            try (IsolatedEnvironment server = member(net, "server");
                    IsolatedEnvironment client = member(net, "client")) {
                server.start("nc", "-l", "-p", "7000");
                server.awaitPort(7000);
                assertThat(client.exec(connect("server", 7000))).succeeded();
                assertThat(client.readString("/etc/hosts")).contains(dir.address() + "\tdir\n");
                assertThat(dir.exec("test", "-d", "/etc/hosts")).succeeded();
                assertThat(fifo.exec("test", "-p", "/etc/hosts")).succeeded();
                assertThat(net.members()).containsExactly(dir, fifo, server, client);
            }
        }
    }

    @Test
    @DisplayName("a member that leaves is no longer named in the others' /etc/hosts, whose other lines stay; a "
            + "member's /etc/hosts made a symlink is not followed")
    void leavingMemberUnnamed() {
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                IsolatedEnvironment app = member(net, "app");
                IsolatedEnvironment linked = member(net, "linked")) {
            IsolatedEnvironment db = member(net, "db", "postgres");
            IsolatedEnvironment cache = member(net, "cache");
            String dbLine = db.address() + "\tdb postgres\n";
            String cacheLine = cache.address() + "\tcache\n";
            assertThat(app.exec("sh", "-c", "echo '10.9.9.9\tmine' >> /etc/hosts"))
                    .succeeded();
            assertThat(linked.exec("sh", "-c", "mv /etc/hosts /etc/hosts.real && ln -s hosts.real /etc/hosts"))
                    .succeeded();

            db.close();

            assertThat(app.readString("/etc/hosts"))
                    .doesNotContain(dbLine)
                    .startsWith("127.0.0.1\tlocalhost\n::1\tlocalhost\n")
                    .contains(app.address() + "\tapp\n", linked.address() + "\tlinked\n", cacheLine)
                    .endsWith("10.9.9.9\tmine\n");
            assertThat(app.exec("ping", "-c", "1", "-W", "1", "postgres"))
                    .failed()
                    .stderr()
                    .contains("bad address 'postgres'");
            assertThat(cache.readString("/etc/hosts")).doesNotContain(dbLine).contains(app.address() + "\tapp\n");
            assertThat(linked.readString("/etc/hosts.real"))
                    .as("the symlink's target, not followed")
                    .contains(dbLine);

            cache.close();
            assertThat(app.readString("/etc/hosts")).doesNotContain(cacheLine).endsWith("10.9.9.9\tmine\n");
            assertThat(net.members()).containsExactly(app, linked);
        }
    }

    @Test
    @DisplayName("a member that joins is added at the end of the others' /etc/hosts, whose other lines stay; a "
            + "member's /etc/hosts made a symlink is not followed, one deleted is written anew")
    void joiningMemberAdded() {
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
                IsolatedEnvironment app = member(net, "app");
                IsolatedEnvironment linked = member(net, "linked");
                IsolatedEnvironment deleted = member(net, "deleted")) {
            String localhost = "127.0.0.1\tlocalhost\n::1\tlocalhost\n";
            String members =
                    app.address() + "\tapp\n" + linked.address() + "\tlinked\n" + deleted.address() + "\tdeleted\n";
            assertThat(app.exec("sh", "-c", "echo '10.0.0.9\tdb' >> /etc/hosts"))
                    .succeeded();
            assertThat(linked.exec("sh", "-c", "mv /etc/hosts /etc/hosts.real && ln -s hosts.real /etc/hosts"))
                    .succeeded();
            assertThat(deleted.exec("rm", "/etc/hosts")).succeeded();

            try (IsolatedEnvironment db = member(net, "server", "cache")) {
                String dbLine = db.address() + "\tserver cache\n";
                assertThat(app.exec("cat", "/etc/hosts"))
                        .succeeded()
                        .stdout()
                        .isEqualTo(localhost + members + "10.0.0.9\tdb\n" + dbLine);
                db.start("nc", "-l", "-p", "7000");
                db.awaitPort(7000);
                assertThat(app.exec(connect("cache", 7000))).succeeded();
                assertThat(db.readString("/etc/hosts")).isEqualTo(localhost + members + dbLine);
                assertThat(linked.readString("/etc/hosts.real"))
                        .as("the symlink's target, not followed")
                        .isEqualTo(localhost + members);
                assertThat(deleted.readString("/etc/hosts")).isEqualTo(localhost + members + dbLine);
            }
        }
    }

    @Test
    @DisplayName("close() closes the members still open; a closed network takes no new member")
    void closeClosesMembers() {
        IsolatedNetwork net = IsolatedNetwork.newNetwork();
        IsolatedEnvironment first = member(net, "first");
        IsolatedEnvironment second = member(net, "second");
        second.close();
        assertThat(net.members()).containsExactly(first);

        net.close();

        assertThat(net.isClosed()).isTrue();
        assertThat(net.members()).isEmpty();
        assertThatThrownBy(first::processes)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
        assertThatThrownBy(() -> member(net, "late"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("The network " + net.name() + " is closed: it closed with its test or class (or by "
                        + "close()); make a new one, e.g. IsolatedNetwork.newNetwork()");
        net.close(); // idempotent
    }

    @Test
    @DisplayName("named(\"orders\") shares by name with builder.network(\"orders\"); names are checked")
    void namedNetworks() {
        try (IsolatedNetwork orders = IsolatedNetwork.named("orders");
                IsolatedEnvironment viaObject = member(orders, "obj", "svc");
                IsolatedEnvironment viaName = IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .namespaces(PID, MOUNT, UTS, NET)
                        .hostname("byname")
                        .network("orders")
                        .start()) {
            viaObject.start("nc", "-l", "-p", "7000");
            viaObject.awaitPort(7000);
            assertThat(viaName.exec(connect("svc", 7000))).succeeded();
            assertThat(viaName.readString("/etc/hosts")).contains(viaObject.address() + "\tobj svc\n");
            assertThat(orders.members()).containsExactly(viaObject);
        }
        assertThatThrownBy(() -> IsolatedNetwork.named("Orders"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid network name \"Orders\": a network name is 1 to 15 lower-case letters, digits "
                        + "and dashes");
        assertThatThrownBy(() -> IsolatedNetwork.named("isolated-1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Invalid network name \"isolated-1\": names starting with \"isolated-\" are those of "
                        + "IsolatedNetwork.newNetwork(); join such a network with builder.network(IsolatedNetwork), "
                        + "or choose another name");
        assertThatThrownBy(() -> IsolatedEnvironment.builder().network("isolated-1"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> IsolatedEnvironment.builder().network(IsolatedNetwork.newNetwork(), "bad_alias"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Invalid hostname \"bad_alias\"");
    }

    @Test
    @DisplayName("a member with a read-only rootfs cannot have its /etc/hosts written: start() fails saying so and "
            + "leaves nothing in the helper")
    void readOnlyMember() throws java.io.IOException {
        IsolatedEnvironment.builder().rootfs("busybox.tar").start().close(); // the helper runs
        int before = NetworkDeclarationTests.helperNetNamespaces();
        try (IsolatedNetwork net = IsolatedNetwork.newNetwork()) {
            assertThatThrownBy(() -> IsolatedEnvironment.builder()
                            .rootfs("busybox.tar")
                            .readOnlyRootfs(true)
                            .network(net, "db")
                            .start())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("The environment could not join the private network " + net.name()
                            + " (it was closed): the members' names go into its /etc/hosts, which a read-only rootfs "
                            + "does not let write: ");
            assertThat(net.members()).isEmpty();
        }
        assertThat(NetworkDeclarationTests.helperNetNamespaces()).isEqualTo(before);
    }

    static IsolatedEnvironment member(IsolatedNetwork net, String hostname, String... aliases) {
        return IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(PID, MOUNT, UTS, NET)
                .hostname(hostname)
                .network(net, aliases)
                .start();
    }

    static Command connect(String host, int port) {
        return Command.of("nc", "-w", "2", host, Integer.toString(port)).withStdin("");
    }
}
