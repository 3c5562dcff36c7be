package dev.isolated.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.RepeatedTest;

/** {@link IsolatedOneCommandFixture}'s command with a plain ProcessBuilder on the host, no isolation. */
class PlainOneCommandFixture {

    @RepeatedTest(IsolatedSuiteFixture.TESTS)
    void oneCommand() throws IOException, InterruptedException {
        assertThat(Processes.run("/bin/echo", "hello")).isEqualTo("hello\n");
    }
}
