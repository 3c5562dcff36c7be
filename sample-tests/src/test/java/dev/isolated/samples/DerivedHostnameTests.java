package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import org.junit.jupiter.api.Test;

/** Without a {@code hostname}, each environment is named after its test method. */
@Isolated(rootfs = "busybox.tar")
class DerivedHostnameTests {

    @Test
    void withoutAHostnameItIsDerivedFromTheTestName(IsolatedEnvironment env) {
        assertThat(env.exec("hostname")).stdout().isEqualTo("withoutahostnameitisderivedfromthetestname\n");
    }

    @Test
    void parallelTestsThereforeGetDifferentHostnames(IsolatedEnvironment env) {
        assertThat(env).hostname().isEqualTo("parallelteststhereforegetdifferenthostnames");
    }
}
