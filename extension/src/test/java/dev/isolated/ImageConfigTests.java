package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.image.TestImages;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("An image's config (docker save / OCI): Env, WorkingDir, User, Entrypoint and Cmd")
class ImageConfigTests {
    private static final Map<String, String> ACCOUNTS = Map.of(
            "etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n",
            "etc/group", "root:x:0:\napp:x:1000:\nstaff:x:50:app\n");

    @TempDir
    Path dir;

    private IsolatedEnvironment start(String runConfig) throws Exception {
        byte[] busybox;
        try (InputStream in = getClass().getResourceAsStream("/busybox.tar")) {
            busybox = in.readAllBytes();
        }
        byte[] app = TestImages.layer(List.of("app"), ACCOUNTS);
        Path image = Files.write(
                dir.resolve("app-" + Integer.toHexString(runConfig.hashCode()) + ".tar"),
                TestImages.dockerSave(runConfig, busybox, app));
        return IsolatedEnvironment.builder().rootfs(image.toString()).start();
    }

    @Test
    @DisplayName("commands run as the image's User, in its WorkingDir, with its Env; a command's own user wins")
    void defaults() throws Exception {
        try (IsolatedEnvironment env =
                start("{\"User\":\"app\",\"WorkingDir\":\"/app\",\"Env\":[\"GREETING=hello\"]}")) {
            assertThat(env.exec("sh", "-c", "echo $(id -u):$(id -g) $(pwd) $GREETING"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("1000:1000 /app hello\n");
            assertThat(env.exec(Command.of("id", "-u").withUser(0, 0))).stdout().isEqualTo("0\n");
            Process viaBuilder = env.processBuilder("id", "-u").start();
            assertThat(new String(viaBuilder.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("1000\n");
            assertThat(viaBuilder.waitFor()).isZero();
        }
    }

    @Test
    @DisplayName(
            "User \"name:group\" and \"uid:gid\" resolve like Docker's, in the environment's /etc/passwd and /etc/group")
    void userAndGroup() throws Exception {
        try (IsolatedEnvironment named = start("{\"User\":\"app:staff\"}");
                IsolatedEnvironment numeric = start("{\"User\":\"4242:4343\"}")) {
            assertThat(named.exec("sh", "-c", "echo $(id -u):$(id -g)"))
                    .stdout()
                    .isEqualTo("1000:50\n");
            assertThat(numeric.exec("sh", "-c", "echo $(id -u):$(id -g)"))
                    .stdout()
                    .isEqualTo("4242:4343\n");
        }
    }

    @Test
    @DisplayName("imageCommand() is the Entrypoint plus Cmd, and arguments replace Cmd, as docker run does")
    void imageCommand() throws Exception {
        try (IsolatedEnvironment env =
                start("{\"User\":\"app\",\"WorkingDir\":\"/app\",\"Entrypoint\":[\"/bin/sh\",\"-c\"],"
                        + "\"Cmd\":[\"echo hi from $(id -un) in $(pwd)\"]}")) {
            assertThat(env.imageConfig().entrypoint()).containsExactly("/bin/sh", "-c");
            assertThat(env.exec(env.imageCommand())).succeeded().stdout().isEqualTo("hi from app in /app\n");
            assertThat(env.exec(env.imageCommand("echo replaced"))).stdout().isEqualTo("replaced\n");
            assertThat(env.start(env.imageCommand("sleep 30")).isAlive()).isTrue();
        }
    }

    @Test
    @DisplayName("a WorkingDir the image does not have fails each command with exit code 125, naming it")
    void missingWorkingDir() throws Exception {
        try (IsolatedEnvironment env = start("{\"WorkingDir\":\"/srv/app\"}")) {
            ExecResult result = env.exec("true");
            assertThat(result).exitedWith(125);
            assertThat(result.stderr())
                    .isEqualTo("isolated: working directory /srv/app does not exist in the environment\n");
            assertThat(env.exec(Command.of("pwd").withWorkingDirectory("/")))
                    .succeeded()
                    .stdout()
                    .isEqualTo("/\n");
        }
    }

    @Test
    @DisplayName("a User the image does not have fails the command with the name and the fix")
    void unknownUser() throws Exception {
        try (IsolatedEnvironment env = start("{\"User\":\"ghost\"}")) {
            assertThatThrownBy(() -> env.exec("id"))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessage("The image's User \"ghost\": no user \"ghost\" in the environment's /etc/passwd; add "
                            + "the user to the image, or give numeric ids such as \"1000:1000\"");
        }
    }

    @Test
    @Isolated(rootfs = "busybox.tar")
    @DisplayName("a plain rootfs tar has no config: root, /, and no image command; arguments alone are the "
            + "command, as docker run IMAGE ARGS runs them without an Entrypoint")
    void plainRootfs(IsolatedEnvironment env) {
        assertThat(env.imageConfig()).isEqualTo(ImageConfig.EMPTY);
        assertThat(env.exec("sh", "-c", "echo $(id -u) $(pwd)")).stdout().isEqualTo("0 /\n");
        assertThatThrownBy(env::imageCommand)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("declares no Entrypoint or Cmd");
        assertThat(env.exec(env.imageCommand("echo", "hi")))
                .succeeded()
                .stdout()
                .isEqualTo("hi\n");
    }
}
