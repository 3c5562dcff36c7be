package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.internal.helper.SharedHelper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The extension's spare environments (see {@link IsolatedConfiguration#SPARE_ENVIRONMENTS}): the tests of a class
 * that take one still each get a fresh environment of their own settings, and no spare outlives its class.
 */
class SpareEnvironmentTests {

    @Test
    @DisplayName("tests of one class, each with a fresh environment (spares on): nothing one wrote is seen by the next")
    void eachTestFresh() {
        FreshTestCase.inits.clear();
        EngineRunner.assertAllSucceeded(EngineRunner.run(FreshTestCase.class), 6);
        assertThat(Set.copyOf(FreshTestCase.inits)).hasSize(6);
    }

    @Test
    @DisplayName("from the third test of the same settings on, a test takes the environment made while the test "
            + "before it ran")
    void spareTaken() {
        TakingTestCase.inits.clear();
        TakingTestCase.othersSeen.clear();
        EngineRunner.assertAllSucceeded(EngineRunner.run(TakingTestCase.class), 5);
        assertEachTookTheSpareSeenBefore(TakingTestCase.inits, TakingTestCase.othersSeen);
    }

    @Test
    @DisplayName("tests of other names take spares too: each runs under the hostname derived from its own name")
    void namedTestsTakeSpares() {
        NamedTestCase.inits.clear();
        NamedTestCase.othersSeen.clear();
        NamedTestCase.hostnames.clear();
        EngineRunner.assertAllSucceeded(EngineRunner.run(NamedTestCase.class), 4);
        assertThat(NamedTestCase.hostnames).containsExactly("first", "second", "third", "fourth");
        assertEachTookTheSpareSeenBefore(NamedTestCase.inits, NamedTestCase.othersSeen);
    }

    @Test
    @DisplayName("an environment closed after its test without waiting is dead when the next test starts")
    void closedBeforeTheNextTest() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(BackgroundCloseTestCase.class), 3);
        assertThat(BackgroundCloseTestCase.stateAfter).isIn("gone", "Z");
    }

    @Test
    @DisplayName("a spare whose init died while it waited is not handed out: the next test gets a working environment")
    void deadSpareReplaced() throws IOException {
        DeadSpareTestCase.inits.clear();
        EngineRunner.assertAllSucceeded(EngineRunner.run(DeadSpareTestCase.class), 3);
        assertThat(DeadSpareTestCase.inits).hasSize(3).doesNotContain(DeadSpareTestCase.killed);
        assertThat(DeadSpareTestCase.thirdHostname).isEqualTo("third");
        assertThat(liveInitsOfHelper()).isEmpty();
    }

    @Test
    @DisplayName("a spare no test took is closed when its class ends: the helper holds no init afterwards")
    void unusedSpareClosedWithItsClass() throws IOException {
        EngineRunner.assertAllSucceeded(EngineRunner.run(FreshTestCase.class), 6);
        assertThat(liveInitsOfHelper()).isEmpty();
    }

    @Test
    @DisplayName("a test of other settings does not take the spare: it gets its own hostname and mounts")
    void otherSettingsMakeTheirOwn() throws IOException {
        EngineRunner.assertAllSucceeded(EngineRunner.run(MixedTestCase.class), 4);
        assertThat(liveInitsOfHelper()).isEmpty();
    }

    @Test
    @DisplayName("isolated.spareEnvironments=false: no environment but the test's own is made")
    void switchedOff() {
        CountingTestCase.others.clear();
        EngineRunner.assertAllSucceeded(
                EngineRunner.run(CountingTestCase.class, Map.of(IsolatedConfiguration.SPARE_ENVIRONMENTS, "false")), 4);
        assertThat(CountingTestCase.others).containsOnly(0);
    }

    /** From the third test on, each test's init is one the test before saw being made while it ran. */
    private static void assertEachTookTheSpareSeenBefore(List<Long> initsInOrder, List<List<Long>> othersSeen) {
        List<Long> inits = List.copyOf(initsInOrder);
        for (int test = 2; test < inits.size(); test++) {
            assertThat(othersSeen.get(test - 1))
                    .as("the inits besides its own that test %d saw", test)
                    .contains(inits.get(test));
        }
    }

    /**
     * The helper's other inits, from the second test of a class on waiting (up to 5 s) until there is one: the spare
     * asked for while this test runs.
     */
    static List<Long> otherInitsOnceASpareIsAsked(IsolatedEnvironment env, List<Long> initsSoFar)
            throws IOException, InterruptedException {
        List<Long> others = new ArrayList<>();
        long until = System.nanoTime() + 5_000_000_000L;
        while (others.isEmpty() && initsSoFar.size() >= 2 && System.nanoTime() < until) {
            others = new ArrayList<>(liveInitsOfHelper());
            others.remove(env.initHostPid());
            Thread.sleep(10);
        }
        return others;
    }

    /** The inits the shared helper holds (its children but its lock keeper), as host pids. */
    static List<Long> liveInitsOfHelper() throws IOException {
        long helper = SharedHelper.get().pid();
        List<Long> inits = new ArrayList<>();
        for (ProcessHandle child :
                ProcessHandle.of(helper).orElseThrow().children().collect(Collectors.toList())) {
            Path comm = Path.of("/proc", Long.toString(child.pid()), "comm");
            String name = Files.exists(comm) ? Files.readString(comm).strip() : "";
            if (!name.equals("isolated-locks")) {
                inits.add(child.pid());
            }
        }
        return inits;
    }

    @Isolated(rootfs = "busybox.tar", hostname = "spare")
    static class FreshTestCase {
        static final Set<Long> inits = ConcurrentHashMap.newKeySet();

        @RepeatedTest(6)
        void fresh(IsolatedEnvironment env) {
            inits.add(env.initHostPid());
            assertThat(env.exec("sh", "-c", "test -e /marker && echo seen || echo absent; touch /marker")
                            .stdout())
                    .isEqualTo("absent\n");
            assertThat(env.exec("hostname").stdout()).isEqualTo("spare\n");
            assertThat(env.exec("ps", "-o", "pid,comm").stdout().strip().lines().skip(1))
                    .as("processes in its PID namespace: its init and ps")
                    .hasSize(2)
                    .anySatisfy(line -> assertThat(line.strip()).isEqualTo("1 isolated-init"));
        }
    }

    @Isolated(rootfs = "busybox.tar", hostname = "taking")
    static class TakingTestCase {
        static final List<Long> inits = new java.util.concurrent.CopyOnWriteArrayList<>();
        static final List<List<Long>> othersSeen = new java.util.concurrent.CopyOnWriteArrayList<>();

        @RepeatedTest(5)
        void take(IsolatedEnvironment env) throws Exception {
            inits.add(env.initHostPid());
            assertThat(env.exec("true").exitCode()).isZero();
            othersSeen.add(otherInitsOnceASpareIsAsked(env, inits));
        }
    }

    /** Records its init, its hostname as {@code hostname} prints it, and the other inits it sees while it runs. */
    @Isolated(rootfs = "busybox.tar")
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class NamedTestCase {
        static final List<Long> inits = new java.util.concurrent.CopyOnWriteArrayList<>();
        static final List<List<Long>> othersSeen = new java.util.concurrent.CopyOnWriteArrayList<>();
        static final List<String> hostnames = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Test
        @Order(1)
        void first(IsolatedEnvironment env) throws Exception {
            record(env);
        }

        @Test
        @Order(2)
        void second(IsolatedEnvironment env) throws Exception {
            record(env);
        }

        @Test
        @Order(3)
        void third(IsolatedEnvironment env) throws Exception {
            record(env);
        }

        @Test
        @Order(4)
        void fourth(IsolatedEnvironment env) throws Exception {
            record(env);
        }

        private static void record(IsolatedEnvironment env) throws Exception {
            inits.add(env.initHostPid());
            hostnames.add(env.exec("hostname").stdout().strip());
            othersSeen.add(otherInitsOnceASpareIsAsked(env, inits));
        }
    }

    /** Its second test kills the spare made for the third (SIGKILL from the host) and waits until it is reaped. */
    @Isolated(rootfs = "busybox.tar")
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class DeadSpareTestCase {
        static final List<Long> inits = new java.util.concurrent.CopyOnWriteArrayList<>();
        static volatile long killed;
        static volatile String thirdHostname;

        @Test
        @Order(1)
        void first(IsolatedEnvironment env) {
            inits.add(env.initHostPid());
            assertThat(env.exec("true").exitCode()).isZero();
        }

        @Test
        @Order(2)
        void second(IsolatedEnvironment env) throws Exception {
            inits.add(env.initHostPid());
            List<Long> spare = otherInitsOnceASpareIsAsked(env, inits);
            assertThat(spare).as("the spare made for the next test").hasSize(1);
            killed = spare.get(0);
            assertThat(ProcessHandle.of(killed).orElseThrow().destroyForcibly()).isTrue();
            Path proc = Path.of("/proc", Long.toString(killed));
            Awaitility.await("the helper reaps the killed spare")
                    .atMost(Duration.ofSeconds(10))
                    .until(() -> !Files.exists(proc));
        }

        @Test
        @Order(3)
        void third(IsolatedEnvironment env) {
            inits.add(env.initHostPid());
            thirdHostname = env.exec("hostname").stdout().strip();
        }
    }

    /** Its second test leaves a {@code sleep} running; its third reads that process's state on the host first. */
    @Isolated(rootfs = "busybox.tar", hostname = "closing")
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class BackgroundCloseTestCase {
        static volatile long sleeping;
        static volatile String stateAfter;

        @Test
        @Order(1)
        void first(IsolatedEnvironment env) {
            assertThat(env.exec("true").exitCode()).isZero();
        }

        @Test
        @Order(2)
        void leavesASleep(IsolatedEnvironment env) {
            // A shell holding 250 MB: its exit (freeing them) takes long enough that the next test, did it not wait
            // for this close, would start while it still runs.
            IsolatedProcess shell = env.start(
                    Command.of("sh", "-c", "x=$(yes | head -c 250000000); echo held; sleep 1000; echo ${#x}"));
            shell.awaitOutput(Pattern.compile("held"));
            sleeping = shell.hostPid();
        }

        @Test
        @Order(3)
        void seesItGone(IsolatedEnvironment env) throws IOException {
            Path stat = Path.of("/proc", Long.toString(sleeping), "stat"); // before any command of this test
            stateAfter = Files.exists(stat) ? stateOf(Files.readString(stat)) : "gone";
            assertThat(env.exec("true").exitCode()).isZero();
        }

        private static String stateOf(String stat) {
            return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        }
    }

    @Isolated(rootfs = "busybox.tar", hostname = "first")
    static class MixedTestCase {
        @RepeatedTest(3)
        void same(IsolatedEnvironment env) {
            assertThat(env.exec("hostname").stdout()).isEqualTo("first\n");
        }

        @Test
        @Isolated(hostname = "second")
        @Tmpfs(target = "/scratch")
        void other(IsolatedEnvironment env) {
            assertThat(env.exec("hostname").stdout()).isEqualTo("second\n");
            assertThat(env.exec("sh", "-c", "grep -c ' /scratch ' /proc/mounts").stdout())
                    .isEqualTo("1\n");
        }
    }

    @Isolated(rootfs = "busybox.tar", hostname = "counted")
    static class CountingTestCase {
        static final List<Integer> others = new java.util.concurrent.CopyOnWriteArrayList<>();

        @RepeatedTest(4)
        void count(IsolatedEnvironment env) throws IOException {
            others.add(liveInitsOfHelper().size() - 1);
        }
    }
}
