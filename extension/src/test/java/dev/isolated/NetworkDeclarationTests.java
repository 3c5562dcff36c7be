package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.NET;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.isolated.internal.helper.NamespaceFds;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

@DisplayName("IsolatedNetwork parameters and fields, @OnNetwork: made per test or class, closed with it")
class NetworkDeclarationTests {

    @Test
    @DisplayName("an IsolatedNetwork parameter is the test's own; @OnNetwork members reach each other by alias; after "
            + "the test the network and its members are closed and the helper holds no switch of it")
    void parameterNetwork() throws IOException {
        IsolatedEnvironment.builder().rootfs("busybox.tar").start().close(); // the helper runs
        int switchesBefore = helperNetNamespaces();
        ParameterCase.seen.clear();

        EngineRunner.assertAllSucceeded(EngineRunner.run(ParameterCase.class), 1);

        IsolatedNetwork backend = (IsolatedNetwork) ParameterCase.seen.get(0);
        assertThat(backend.isClosed()).isTrue();
        assertThat(backend.members()).isEmpty();
        assertThatThrownBy(((IsolatedEnvironment) ParameterCase.seen.get(1))::processes)
                .isInstanceOf(IllegalStateException.class);
        assertThat(ParameterCase.switchesDuring)
                .as("1 switch's netns (the helper holds none of its environments')")
                .isEqualTo(switchesBefore + 1);
        assertThat(helperNetNamespaces()).isEqualTo(switchesBefore);
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET})
    static class ParameterCase {
        static final List<Object> seen = new CopyOnWriteArrayList<>();
        static int switchesDuring;

        @Test
        void dbByAlias(
                @Isolated(hostname = "server") @OnNetwork(value = "backend", aliases = "db") IsolatedEnvironment db,
                IsolatedNetwork backend,
                @Isolated(hostname = "client") @OnNetwork("backend") IsolatedEnvironment app)
                throws IOException {
            seen.addAll(List.of(backend, db));
            assertThat(backend.name()).startsWith("isolated-");
            assertThat(backend.members()).containsExactly(db, app);
            db.writeString("/tmp/index.html", "db answers\n");
            db.start("httpd", "-f", "-p", "8080", "-h", "/tmp");
            db.awaitPort(8080);
            assertThat(app.exec("wget", "-qO-", "http://db:8080/"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("db answers\n");
            switchesDuring = helperNetNamespaces();
        }
    }

    @Test
    @DisplayName("two tests running in parallel, each with an IsolatedNetwork and members of the same hostnames and "
            + "aliases, never share a network")
    void parallelTestsNeverShare() {
        ParallelCase.names.clear();
        EngineExecutionResults results = EngineRunner.run(
                ParallelCase.class,
                Map.of(
                        "junit.jupiter.execution.parallel.enabled", "true",
                        "junit.jupiter.execution.parallel.mode.default", "concurrent"));
        EngineRunner.assertAllSucceeded(results, 2);
        assertThat(ParallelCase.names).hasSize(2).doesNotHaveDuplicates();
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET})
    static class ParallelCase {
        static final List<String> names = new CopyOnWriteArrayList<>();
        static final CyclicBarrier bothRunning = new CyclicBarrier(2);

        @Test
        void first(
                IsolatedNetwork net,
                @Isolated(hostname = "server") @OnNetwork(value = "net", aliases = "db") IsolatedEnvironment db,
                @Isolated(hostname = "client") @OnNetwork("net") IsolatedEnvironment app)
                throws Exception {
            servesItsOwn(net, db, app, "first");
        }

        @Test
        void second(
                IsolatedNetwork net,
                @Isolated(hostname = "server") @OnNetwork(value = "net", aliases = "db") IsolatedEnvironment db,
                @Isolated(hostname = "client") @OnNetwork("net") IsolatedEnvironment app)
                throws Exception {
            servesItsOwn(net, db, app, "second");
        }

        private static void servesItsOwn(
                IsolatedNetwork net, IsolatedEnvironment db, IsolatedEnvironment app, String test) throws Exception {
            names.add(net.name());
            db.writeString("/tmp/index.html", test + "\n");
            db.start("httpd", "-f", "-p", "8080", "-h", "/tmp");
            db.awaitPort(8080);
            bothRunning.await(60, TimeUnit.SECONDS); // the other test's members exist now too
            assertThat(app.readString("/etc/hosts")
                            .lines()
                            .filter(l -> l.contains("\tserver"))
                            .count())
                    .isEqualTo(1);
            assertThat(app.exec("wget", "-qO-", "http://db:8080/"))
                    .succeeded()
                    .stdout()
                    .isEqualTo(test + "\n");
        }
    }

    @Test
    @DisplayName("an instance field is closed after each test, a static field after the class")
    void fields() {
        FieldCase.perTestSeen.clear();
        EngineRunner.assertAllSucceeded(EngineRunner.run(FieldCase.class), 2);

        assertThat(FieldCase.shared.isClosed()).isTrue();
        assertThat(FieldCase.perTestSeen)
                .hasSize(2)
                .doesNotHaveDuplicates()
                .allSatisfy(n -> assertThat(n.isClosed()).isTrue());
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET})
    static class FieldCase {
        static final IsolatedNetwork shared = IsolatedNetwork.newNetwork();
        static final List<IsolatedNetwork> perTestSeen = new CopyOnWriteArrayList<>();
        final IsolatedNetwork perTest = IsolatedNetwork.newNetwork();

        @Test
        void one(
                @Isolated(hostname = "a") @OnNetwork(value = "shared", aliases = "svc") IsolatedEnvironment a,
                @Isolated(hostname = "b") @OnNetwork("perTest") IsolatedEnvironment b) {
            check(a, b);
        }

        @Test
        void two(
                @Isolated(hostname = "a") @OnNetwork(value = "shared", aliases = "svc") IsolatedEnvironment a,
                @Isolated(hostname = "b") @OnNetwork("perTest") IsolatedEnvironment b) {
            check(a, b);
        }

        private void check(IsolatedEnvironment a, IsolatedEnvironment b) {
            assertThat(shared.isClosed()).isFalse();
            assertThat(perTestSeen)
                    .allSatisfy(earlier -> assertThat(earlier.isClosed()).isTrue());
            perTestSeen.add(perTest);
            assertThat(shared.members()).containsExactly(a);
            assertThat(perTest.members()).containsExactly(b);
            assertThat(a.readString("/etc/hosts")).contains(a.address() + "\ta svc\n");
        }
    }

    @Test
    @DisplayName("a superclass's static field is shared by its test subclasses and closed after the run, not after the "
            + "first subclass; a superclass's @OnNetwork applies to its subclasses")
    void superclassStaticField() {
        EngineExecutionResults results = EngineTestKit.engine("junit-jupiter")
                .selectors(selectClass(FirstSubclassCase.class), selectClass(SecondSubclassCase.class))
                .execute();

        EngineRunner.assertAllSucceeded(results, 3);
        assertThat(SharedNetworkBase.shared.isClosed()).isTrue();
        assertThat(SharedNetworkBase.shared.members()).isEmpty();
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET})
    @OnNetwork("shared")
    abstract static class SharedNetworkBase {
        static final IsolatedNetwork shared = IsolatedNetwork.newNetwork();

        @Test
        @OnNetwork(value = "shared", aliases = "by-method")
        void joins(IsolatedEnvironment env) {
            assertThat(shared.members()).containsExactly(env);
        }
    }

    static class FirstSubclassCase extends SharedNetworkBase {
        @Test
        void classAnnotationIsInherited(IsolatedEnvironment env) {
            assertThat(SharedNetworkBase.shared.members()).containsExactly(env);
        }
    }

    static class SecondSubclassCase extends SharedNetworkBase {}

    @Test
    @DisplayName(
            "an IsolatedNetwork parameter of a @BeforeAll method is the class's, closed after it; a test's parameter of the "
                    + "same name is a new network of the test's own")
    void beforeAllParameter() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(BeforeAllCase.class), 3);
        assertThat(BeforeAllCase.network.isClosed()).isTrue();
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET})
    static class BeforeAllCase {
        static IsolatedNetwork network;

        static IsolatedNetwork beforeEach;

        @org.junit.jupiter.api.BeforeAll
        static void keep(IsolatedNetwork classNetwork) {
            network = classNetwork;
        }

        @org.junit.jupiter.api.BeforeEach
        void each(IsolatedNetwork classNetwork) {
            beforeEach = classNetwork;
        }

        @Test
        void one(@Isolated(hostname = "one") @OnNetwork("network") IsolatedEnvironment env) {
            assertThat(network.isClosed()).isFalse();
            assertThat(network.members()).containsExactly(env);
        }

        @Test
        void sameNameInATest(
                IsolatedNetwork classNetwork,
                @Isolated(hostname = "three") @OnNetwork("classNetwork") IsolatedEnvironment env) {
            assertThat(classNetwork).as("a new network for the test").isNotSameAs(network);
            assertThat(classNetwork).as("the same as its @BeforeEach's").isSameAs(beforeEach);
            assertThat(classNetwork.members()).containsExactly(env);
            assertThat(network.members()).isEmpty();
        }

        @Test
        void two(@Isolated(hostname = "two") @OnNetwork("network") IsolatedEnvironment env) {
            assertThat(network.isClosed()).isFalse();
            assertThat(network.members()).containsExactly(env);
        }
    }

    @Test
    @DisplayName("@OnNetwork on a test method puts the method's environment on a network, on the class every test's "
            + "that has none of its own")
    void onMethodsAndClasses() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(MethodCase.class), 2);
        assertThat(MethodCase.shared.isClosed()).isTrue();
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET},
            hostname = "main")
    @OnNetwork(value = "shared", aliases = "svc")
    static class MethodCase {
        static final IsolatedNetwork shared = IsolatedNetwork.newNetwork();

        @Test
        @OnNetwork(value = "net", aliases = "api")
        void methodNetwork(
                IsolatedEnvironment env,
                IsolatedNetwork net,
                @Isolated(hostname = "peer") @OnNetwork("net") IsolatedEnvironment peer) {
            assertThat(net.members()).containsExactly(env, peer);
            env.start("nc", "-l", "-p", "7000");
            env.awaitPort(7000);
            assertThat(peer.exec(IsolatedNetworkTests.connect("api", 7000))).succeeded();
        }

        @Test
        void classNetwork(IsolatedEnvironment env) {
            assertThat(shared.members()).containsExactly(env);
            assertThat(env.readString("/etc/hosts")).contains(env.address() + "\tmain svc\n");
        }
    }

    @Test
    @DisplayName(
            "a PER_CLASS environment joins a static field's network, or an instance field's when the test instance "
                    + "is per class; with a test instance per method an instance field fails the class saying to make it static")
    void perClassEnvironment() {
        PerClassInstanceCase.seen.clear();
        EngineRunner.assertAllSucceeded(EngineRunner.run(PerClassInstanceCase.class), 2);
        assertThat(PerClassInstanceCase.seen)
                .hasSize(2)
                .allSatisfy(n -> assertThat(n.isClosed()).isTrue());
        assertThat(PerClassInstanceCase.seen.get(0)).isSameAs(PerClassInstanceCase.seen.get(1));

        Throwable failure = EngineRunner.run(PerClassPerMethodInstanceCase.class).containerEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow())
                .findFirst()
                .orElseThrow();
        assertThat(failure)
                .hasMessage("@OnNetwork(\"net\") on class PerClassPerMethodInstanceCase: the field net of "
                        + "PerClassPerMethodInstanceCase belongs to a test instance, and none exists yet here; make it "
                        + "static");
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET},
            hostname = "shared",
            lifecycle = Isolated.Lifecycle.PER_CLASS)
    @OnNetwork(value = "net", aliases = "svc")
    @org.junit.jupiter.api.TestInstance(org.junit.jupiter.api.TestInstance.Lifecycle.PER_CLASS)
    static class PerClassInstanceCase {
        static final List<IsolatedNetwork> seen = new CopyOnWriteArrayList<>();
        final IsolatedNetwork net = IsolatedNetwork.newNetwork();

        @Test
        void one(IsolatedEnvironment env) {
            check(env);
        }

        @Test
        void two(IsolatedEnvironment env) {
            check(env);
        }

        private void check(IsolatedEnvironment env) {
            assertThat(net.isClosed()).isFalse();
            assertThat(net.members()).containsExactly(env);
            assertThat(env.readString("/etc/hosts")).contains(env.address() + "\tshared svc\n");
            seen.add(net);
        }
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET},
            lifecycle = Isolated.Lifecycle.PER_CLASS)
    @OnNetwork("net")
    static class PerClassPerMethodInstanceCase {
        final IsolatedNetwork net = IsolatedNetwork.newNetwork();

        @Test
        void test(IsolatedEnvironment env) {}
    }

    @Test
    @DisplayName("@OnNetwork naming nothing, or without @Isolated on its parameter, fails the test saying why")
    void mistakes() {
        EngineExecutionResults results = EngineRunner.run(MistakeCase.class);
        List<String> messages = results.testEvents().finished().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .map(Throwable::getMessage)
                        .orElse(""))
                .sorted()
                .toList();
        assertThat(messages)
                .containsExactly(
                        "@OnNetwork on parameter env needs @Isolated on that parameter too: only an environment made for the "
                                + "parameter can join a network",
                        "@OnNetwork(\"missing\") on parameter env of missing: no IsolatedNetwork parameter of missing nor "
                                + "IsolatedNetwork field of MistakeCase is named missing (parameter names need javac -parameters)",
                        "@OnNetwork(\"unset\") on parameter env of nullField: the field unset of MistakeCase is null; initialize "
                                + "it, e.g. IsolatedNetwork unset = IsolatedNetwork.newNetwork();");
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS, NET})
    static class MistakeCase {
        IsolatedNetwork unset;

        @Test
        void missing(@Isolated @OnNetwork("missing") IsolatedEnvironment env) {}

        @Test
        void nullField(@Isolated @OnNetwork("unset") IsolatedEnvironment env) {}

        @Test
        void notIsolated(@OnNetwork("unset") IsolatedEnvironment env) {}
    }

    /** The network namespaces the helper holds by fd: its networks' switches (none of its environments'). */
    static int helperNetNamespaces() throws IOException {
        ProcessHandle helper = ProcessHandle.current()
                .children()
                .filter(p -> p.info().command().orElse("").endsWith("isolated-helper"))
                .findFirst()
                .orElseThrow();
        return NamespaceFds.of(helper.pid(), "net").size();
    }
}
