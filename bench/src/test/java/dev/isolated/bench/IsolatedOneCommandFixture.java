package dev.isolated.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import org.junit.jupiter.api.RepeatedTest;

/**
 * The bench's one-command test class (run by {@link SuiteBench} through the Launcher, not by Surefire): 100 tests,
 * each with a fresh environment (today's default namespaces and seccomp filter, its hostname derived from the
 * test's name) and one command, what issue 14's first target calls a test that gets a fresh environment and runs
 * one command.
 */
@Isolated(rootfs = "busybox.tar")
class IsolatedOneCommandFixture {

    @RepeatedTest(IsolatedSuiteFixture.TESTS)
    void oneCommand(IsolatedEnvironment env) {
        assertThat(env.exec("echo", "hello").stdout()).isEqualTo("hello\n");
    }
}
