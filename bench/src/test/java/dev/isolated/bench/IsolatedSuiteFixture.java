package dev.isolated.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import org.junit.jupiter.api.RepeatedTest;

/**
 * The bench's test class (run by {@link SuiteBench} through the Launcher, not by Surefire: its name matches
 * none of Surefire's patterns): 100 tests, each with a fresh environment (today's default namespaces and seccomp
 * filter) and two commands.
 */
@Isolated(rootfs = "busybox.tar", hostname = "box")
class IsolatedSuiteFixture {
    static final int TESTS = 100;

    @RepeatedTest(TESTS)
    void twoCommands(IsolatedEnvironment env) {
        assertThat(env.exec("echo", "hello").stdout()).isEqualTo("hello\n");
        assertThat(env.exec("hostname").stdout()).isEqualTo("box\n");
    }
}
