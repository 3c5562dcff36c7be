package dev.isolated.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.RepeatedTest;

/** {@link IsolatedSuiteFixture}'s two commands with a plain ProcessBuilder on the host, no isolation. */
class PlainSuiteFixture {

    @RepeatedTest(IsolatedSuiteFixture.TESTS)
    void twoCommands() throws IOException, InterruptedException {
        assertThat(Processes.run("/bin/echo", "hello")).isEqualTo("hello\n");
        assertThat(Processes.run("/bin/hostname")).isNotBlank();
    }
}
