package dev.isolated.samples;

import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import org.junit.jupiter.api.Test;

/** Walk-through step 6: {@code unshare -p -f chroot rootfs /hello} is {@code docker run} in one line. */
class ChrootAndUnshareTests {

    @Test
    @Isolated(rootfs = "hello.tar", namespaces = PID)
    void helloRunsWithOnlyAPidNamespaceAndTheRootfs(IsolatedEnvironment env) {
        assertThat(env.exec("/hello")).succeeded().stdout().isEqualTo("Hello, World\n");
        assertThat(env).pid1().hasCommand("isolated-init");
    }
}
