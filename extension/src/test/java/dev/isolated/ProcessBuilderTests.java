package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("code under test that takes a ProcessBuilder, and commands as another user")
@Isolated(
        rootfs = "busybox.tar",
        namespaces = {PID, MOUNT, UTS},
        hostname = "pb-box")
class ProcessBuilderTests {

    @Test
    @DisplayName("processBuilder gives a real ProcessBuilder whose process runs inside the environment")
    void processBuilder(IsolatedEnvironment env) throws Exception {
        ProcessBuilder pb = env.processBuilder("sh", "-c", "hostname; echo $GREETING; cat /etc/hostname; exit 3");
        pb.environment().put("GREETING", "hello");

        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(p.waitFor()).isEqualTo(3);
        assertThat(out).isEqualTo("pb-box\nhello\nisolated\n");
        assertThat(pb.environment()).doesNotContainKey("JAVA_HOME");
    }

    @Test
    @DisplayName("destroy() stops the command and what it started: once waitFor() returns, none of it runs")
    void destroyStopsTheWholeCommand(IsolatedEnvironment env) throws Exception {
        Process p = env.processBuilder("sh", "-c", "sleep 300 & exec sleep 301").start();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> commandsLike(env, "sleep").size() == 2);

        p.destroy();

        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(128 + 15);
        assertThat(commandsLike(env, "sleep")).isEmpty();
        assertThat(commandsLike(env, "isolated-helper")).isEmpty();
    }

    @Test
    @DisplayName("destroy() is a request a command may ignore; destroyForcibly() is not")
    void destroyIsARequest(IsolatedEnvironment env) throws Exception {
        Process p = env.processBuilder("sh", "-c", "trap '' TERM; sleep 300 & exec sleep 301")
                .start();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> commandsLike(env, "sleep").size() == 2);

        p.destroy();

        assertThat(p.waitFor(500, TimeUnit.MILLISECONDS)).isFalse();
        assertThat(commandsLike(env, "sleep")).hasSize(2);
        p.destroyForcibly();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(10)) // a bound under load, no promise of speed
                .untilAsserted(() -> assertThat(commandsLike(env, "sleep")).isEmpty());
    }

    @Test
    @DisplayName("destroyForcibly() kills the command and what it started, also children that outlive their parent")
    void destroyForciblyKillsTheWholeCommand(IsolatedEnvironment env) throws Exception {
        Process p = env.processBuilder("sh", "-c", "(sleep 299 &); sleep 300 & exec sleep 301")
                .start();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> commandsLike(env, "sleep").size() == 3);

        p.destroyForcibly();

        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(128 + 9);
        // SIGKILL cannot be caught: the supervisor inside kills the rest right after (see the Javadoc); 10 s is a
        // bound under load, no promise of speed
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(commandsLike(env, "sleep")).isEmpty();
            assertThat(commandsLike(env, "isolated-helper")).isEmpty();
        });
    }

    @Test
    @DisplayName(
            "the command's exit code and signal, stdin and stdout stream as with any Process; pid() is the helper's on the host")
    void exitCodesAndStreams(IsolatedEnvironment env) throws Exception {
        Process cat = env.processBuilder("sh", "-c", "cat; exit 5").start();
        cat.getOutputStream().write("through\n".getBytes(StandardCharsets.UTF_8));
        cat.getOutputStream().close();
        assertThat(new String(cat.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .isEqualTo("through\n");
        assertThat(cat.waitFor()).isEqualTo(5);

        Process killed = env.processBuilder("sh", "-c", "kill -KILL $$").start();
        assertThat(killed.waitFor()).isEqualTo(128 + 9);

        Process sleeper = env.processBuilder("sleep", "302").start();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> commandsLike(env, "sleep").size() == 1);
        assertThat(env.processes()).extracting(ProcessInfo::hostPid).doesNotContain(sleeper.pid());
        assertThat(commandsLike(env, "isolated-helper")) // the supervisor, without the host's path or options
                .singleElement()
                .extracting(ProcessInfo::commandLine)
                .isEqualTo("isolated-helper");
        assertThat(env.exec("ps", "-o", "args")).succeeded().stdout().doesNotContain("enter", ".cache", "--pid");
        assertThat(sleeper.toHandle().isAlive()).isTrue();
        sleeper.destroy();
        assertThat(sleeper.waitFor()).isEqualTo(128 + 15);
    }

    @Test
    @DisplayName("the process inside is a session of its own, without a controlling terminal")
    void ownSession(IsolatedEnvironment env) throws Exception {
        Process p = env.processBuilder(
                        "sh",
                        "-c",
                        "read -r stat < /proc/$$/stat; set -- $stat; "
                                + "echo \"pid=$1 session=$6 tty_nr=$7\"; (exec 3</dev/tty) 2>/dev/null && echo tty-opened || echo no-tty")
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(p.waitFor()).isZero();
        String pid = out.replaceAll("(?s)pid=(\\d+) .*", "$1");
        assertThat(out).isEqualTo("pid=" + pid + " session=" + pid + " tty_nr=0\nno-tty\n");
    }

    private static List<ProcessInfo> commandsLike(IsolatedEnvironment env, String command) {
        return env.processes().stream().filter(p -> p.command().equals(command)).toList();
    }

    @Test
    @DisplayName("withUser runs a command as another uid and gid inside")
    void asAnotherUser(IsolatedEnvironment env) {
        assertThat(env.exec(Command.of("id").withUser(1000, 1000)))
                .succeeded()
                .stdout()
                .startsWith("uid=1000 gid=1000");
        assertThat(env.exec(Command.of("touch", "/etc/by-user").withUser(1000, 1000)))
                .failed()
                .stderr()
                .contains("Permission denied");
    }
}
