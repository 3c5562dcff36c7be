package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageBuilder;
import dev.isolated.internal.image.TestImages;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.TestExecutionResult;

@DisplayName("Environment-level defaults: env, workingDirectory and user for every command")
class CommandDefaultsTests {
    static final String PASSWD = "root:x:0:0:root:/root:/bin/sh\n"
            + "postgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n"
            + "app:x:1000:1000::/app:/bin/sh\n";
    static final String GROUP = "root:x:0:\nadm:x:4:postgres,root\npostgres:x:999:\nstaff:x:50:app,postgres\n";
    /** Prints who, where and what a command is: {@code uid:gid:groups cwd $GREETING $OTHER}. */
    static final String WHO = "echo $(id -u):$(id -g):$(id -G | tr ' ' ,) $(pwd) $GREETING $OTHER";

    static Path image;

    @BeforeAll
    static void buildImage() {
        image = ImageBuilder.from("busybox.tar")
                .addText("/etc/passwd", PASSWD)
                .addText("/etc/group", GROUP)
                .addText("/srv/README", "srv\n")
                .addText("/app/README", "app\n")
                .build();
    }

    private static IsolatedEnvironmentBuilder builder() {
        return IsolatedEnvironment.builder().rootfs(image);
    }

    @Test
    @DisplayName(
            "builder env, workingDirectory and user (by name, with its supplementary groups) apply to exec, start, execAsPid1, enter and processBuilder")
    void everyKindOfCommand() throws Exception {
        try (IsolatedEnvironment env = builder()
                .env("GREETING", "hello")
                .workingDirectory("/srv")
                .user("postgres")
                .start()) {
            String expected = "999:999:999,4,50 /srv hello\n";
            assertThat(env.exec("sh", "-c", WHO)).succeeded().stdout().isEqualTo(expected);
            IsolatedProcess started = env.start("sh", "-c", WHO);
            assertThat(started.awaitExit().stdout()).isEqualTo(expected);
            assertThat(env.execAsPid1("sh", "-c", WHO)).succeeded().stdout().isEqualTo(expected);
            assertThat(env.enter(PID, MOUNT).exec("sh", "-c", WHO))
                    .succeeded()
                    .stdout()
                    .isEqualTo(expected);
            Process viaBuilder = env.processBuilder("sh", "-c", WHO).start();
            assertThat(new String(viaBuilder.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo(expected);
            assertThat(viaBuilder.waitFor()).isZero();
            assertThat(env.exec("id", "-un")).stdout().isEqualTo("postgres\n");
        }
    }

    @Test
    @DisplayName("a command's withEnv, withWorkingDirectory and withUser win over the environment's")
    void commandWins() {
        try (IsolatedEnvironment env = builder()
                .env("GREETING", "hello")
                .env("OTHER", "kept")
                .workingDirectory("/srv")
                .user("postgres")
                .start()) {
            Command who = Command.of("sh", "-c", WHO);
            assertThat(env.exec(who.withEnv("GREETING", "bye")
                            .withWorkingDirectory("/app")
                            .withUser("app")))
                    .succeeded()
                    .stdout()
                    .isEqualTo("1000:1000:1000,50 /app bye kept\n");
            assertThat(env.exec(who.withUser(0, 0))).stdout().isEqualTo("0:0:0 /srv hello kept\n");
            assertThat(env.exec(who.withUser("1000:1000"))).stdout().isEqualTo("1000:1000:1000 /srv hello kept\n");
            assertThat(env.exec(who.withUser("postgres:staff"))).stdout().isEqualTo("999:50:50 /srv hello kept\n");
            assertThat(env.exec(who.withUser("4242"))).stdout().isEqualTo("4242:0:0 /srv hello kept\n");
            assertThat(env.exec(who.withUser("root"))).stdout().isEqualTo("0:0:0,4 /srv hello kept\n");
            assertThat(env.exec(who.withUser("app").withUser(7, 7))).stdout().isEqualTo("7:7:7 /srv hello kept\n");
        }
    }

    @Test
    @DisplayName(
            "the image config's Env, WorkingDir and User are the lowest: the environment's override them (for imageCommand() too), a command's override both")
    void imageConfigIsLowest(@TempDir Path dir) throws Exception {
        byte[] busybox;
        try (InputStream in = getClass().getResourceAsStream("/busybox.tar")) {
            busybox = in.readAllBytes();
        }
        byte[] accounts = TestImages.layer(List.of("app", "srv"), Map.of("etc/passwd", PASSWD, "etc/group", GROUP));
        Path withConfig = Files.write(
                dir.resolve("configured.tar"),
                TestImages.dockerSave(
                        "{\"User\":\"app\",\"WorkingDir\":\"/app\",\"Env\":[\"GREETING=image\",\"OTHER=image\"],"
                                + "\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"" + WHO + "\"]}",
                        busybox,
                        accounts));
        try (IsolatedEnvironment plain =
                        IsolatedEnvironment.builder().rootfs(withConfig).start();
                IsolatedEnvironment env = IsolatedEnvironment.builder()
                        .rootfs(withConfig)
                        .env("GREETING", "env")
                        .workingDirectory("/srv")
                        .user("postgres")
                        .start()) {
            assertThat(plain.exec("sh", "-c", WHO)).stdout().isEqualTo("1000:1000:1000,50 /app image image\n");
            assertThat(env.exec("sh", "-c", WHO)).stdout().isEqualTo("999:999:999,4,50 /srv env image\n");
            assertThat(env.exec(env.imageCommand()))
                    .succeeded()
                    .stdout()
                    .isEqualTo("999:999:999,4,50 /srv env image\n");
            assertThat(env.start(env.imageCommand()).awaitExit().stdout())
                    .isEqualTo("999:999:999,4,50 /srv env image\n");
            assertThat(env.exec(Command.of("sh", "-c", WHO)
                            .withEnv("GREETING", "command")
                            .withUser("app")))
                    .stdout()
                    .isEqualTo("1000:1000:1000,50 /srv command image\n");
        }
    }

    @Test
    @DisplayName("an unknown user or group fails the command, naming where it was given, the file and the fix")
    void unknownUsers() {
        try (IsolatedEnvironment env = builder().start();
                IsolatedEnvironment ghostly = builder().user("ghost").start()) {
            assertThatThrownBy(() -> env.exec(Command.of("id").withUser("ghost")))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessage("Command.withUser(\"ghost\"): no user \"ghost\" in the environment's /etc/passwd; add "
                            + "the user to the image, or give numeric ids such as \"1000:1000\"");
            assertThatThrownBy(() -> env.exec(Command.of("id").withUser("postgres:wheel")))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessage(
                            "Command.withUser(\"postgres:wheel\"): no group \"wheel\" in the environment's "
                                    + "/etc/group; add the group to the image, or give a numeric gid such as \"postgres:1000\"");
            assertThatThrownBy(() -> ghostly.exec("id"))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessage("The environment's user \"ghost\" (@Isolated(user), builder().user): no user \"ghost\" "
                            + "in the environment's /etc/passwd; add the user to the image, or give numeric ids such as "
                            + "\"1000:1000\"");
            assertThatThrownBy(() -> ghostly.processBuilder("id"))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessageStartingWith("The environment's user \"ghost\"");
            assertThat(ghostly.exec(Command.of("id", "-u").withUser(0, 0)))
                    .stdout()
                    .isEqualTo("0\n");
        }
        assertThatThrownBy(() -> Command.of("id").withUser("a:b:c"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("Command.withUser(\"a:b:c\"): not a user;");
        assertThatThrownBy(() -> IsolatedEnvironment.builder().user("post gres"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("IsolatedEnvironmentBuilder.user(\"post gres\"): not a user;");
        assertThatThrownBy(() -> IsolatedEnvironment.builder().workingDirectory("srv"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("IsolatedEnvironmentBuilder.workingDirectory(\"srv\"): the working directory must be an "
                        + "absolute path inside the environment, e.g. \"/srv\"");
        assertThatThrownBy(() -> Command.of("pwd").withWorkingDirectory("srv"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Command.withWorkingDirectory(\"srv\"): the working directory must be an absolute path "
                        + "inside the environment, e.g. \"/srv\"");
    }

    @Test
    @DisplayName(
            "names resolve in the environment's own /etc/passwd: a symlink to a host file finds nothing; a FIFO, a directory, a device or a file over 64 MiB is refused at once")
    void hostilePasswd(@TempDir Path dir) throws Exception {
        Path hostPasswd = Files.writeString(dir.resolve("passwd"), "hostonly:x:4242:4242::/:/bin/sh\n");
        Path linked = ImageBuilder.from("busybox.tar")
                .symlink("/etc/passwd", hostPasswd.toString())
                .build();
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(linked).start()) {
            assertThatThrownBy(() -> env.exec(Command.of("id").withUser("hostonly")))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessageStartingWith("Command.withUser(\"hostonly\"): no user \"hostonly\" in the environment's "
                            + "/etc/passwd");
        }
        try (IsolatedEnvironment env = builder().start()) {
            assertThat(env.exec("sh", "-c", "rm /etc/group && mkfifo /etc/group"))
                    .succeeded();
            assertThatThrownBy(() -> env.exec(Command.of("id").withUser("postgres")))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessageStartingWith("Command.withUser(\"postgres\"): Cannot read /etc/group")
                    .hasMessageContaining("FIFO");
            assertThat(env.exec("sh", "-c", "rm /etc/passwd && mkdir /etc/passwd"))
                    .succeeded();
            assertThatThrownBy(() -> env.exec(Command.of("id").withUser("postgres")))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessageStartingWith("Command.withUser(\"postgres\"): Cannot read /etc/passwd")
                    .hasMessageContaining("directory");
            assertThat(env.exec(Command.of("id", "-u").withUser(1000, 1000)))
                    .stdout()
                    .isEqualTo("1000\n");
            assertThat(env.exec("sh", "-c", "rmdir /etc/passwd && ln -s /dev/zero /etc/passwd"))
                    .succeeded();
            assertThatThrownBy(() -> env.exec(Command.of("id").withUser("postgres")))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessageStartingWith("Command.withUser(\"postgres\"): Cannot read /etc/passwd")
                    .hasMessageContaining("character device");
            assertThat(env.exec("sh", "-c", "rm /etc/passwd && head -c 68157440 /dev/zero > /etc/passwd"))
                    .succeeded();
            assertThatThrownBy(() -> env.exec(Command.of("id").withUser("postgres")))
                    .isInstanceOf(IsolatedException.class)
                    .hasMessageStartingWith("Command.withUser(\"postgres\"): Cannot read /etc/passwd")
                    .hasMessageContaining("larger than 64 MiB");
        }
    }

    @Test
    @DisplayName(
            "@Isolated(env, workingDirectory, user) apply to every command; a method's env merges by name with its class's, its user and directory replace the class's")
    void annotations() {
        EngineRunner.assertAllSucceeded(
                EngineRunner.run(AnnotatedTestCase.class, Map.of("isolated.rootfs", image.toString())), 4);
    }

    @Test
    @DisplayName("an env entry without '=' or a relative workingDirectory fails the test naming the attribute")
    void badAnnotations() {
        var results = EngineRunner.run(BadAnnotationsTestCase.class, Map.of("isolated.rootfs", image.toString()));
        assertThat(results.testEvents().failed().stream()
                        .map(e -> e.getPayload(TestExecutionResult.class)
                                .orElseThrow()
                                .getThrowable()
                                .orElseThrow())
                        .map(t -> t.getClass().getSimpleName() + ": " + t.getMessage())
                        .sorted()
                        .toList())
                .containsExactly(
                        ExtensionConfigurationException.class.getSimpleName() + ": @Isolated(env = \"NOVALUE\"): write "
                                + "each variable as \"NAME=value\", e.g. env = {\"LANG=C.UTF-8\", \"PGDATA=/data\"}",
                        ExtensionConfigurationException.class.getSimpleName() + ": @Isolated(user = \"a:b:c\"): "
                                + "IsolatedEnvironmentBuilder.user(\"a:b:c\"): not a user; write a name or uid, "
                                + "optionally with a group name or gid after a colon, as docker run --user takes it: "
                                + "\"postgres\", \"1000\", \"postgres:postgres\", \"1000:1000\"",
                        ExtensionConfigurationException.class.getSimpleName()
                                + ": @Isolated(workingDirectory = \"srv\"): "
                                + "IsolatedEnvironmentBuilder.workingDirectory(\"srv\"): the working directory must "
                                + "be an absolute path inside the environment, e.g. \"/srv\"");
    }

    @Test
    @DisplayName("the failure report shows the user each command ran as: uid:gid, name and groups when known")
    void reportShowsUsers() {
        var results = EngineRunner.run(FailingTestCase.class, Map.of("isolated.rootfs", image.toString()));
        String report = results.testEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow())
                .findFirst()
                .orElseThrow()
                .getSuppressed()[0]
                .getMessage();
        assertThat(report)
                .contains(
                        "  [id, -u] -> exit 0, as 999:999 (postgres, groups 4,50)\n",
                        "  [id, -u] -> exit 0, as 1000:50 (app)\n",
                        "  [id, -u] -> exit 0, as 7:8\n",
                        "  [true] -> exit 0, as 0:0\n",
                        "  [false] -> exit 1, as 999:999 (postgres, groups 4,50)\n");
    }

    @Isolated(
            env = {"A=class", "B=class"},
            workingDirectory = "/srv",
            user = "postgres")
    static class AnnotatedTestCase {
        @Test
        void classDefaults(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "echo $A $B $(pwd) $(id -un):$(id -G | tr ' ' ,)"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("class class /srv postgres:999,4,50\n");
        }

        @Test
        @Isolated(env = "B=method", user = "1000:1000")
        void methodMerges(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "echo $A $B $(pwd) $(id -u):$(id -g)"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("class method /srv 1000:1000\n");
        }

        @Test
        void parameter(
                IsolatedEnvironment env, @Isolated(workingDirectory = "/app", user = "app") IsolatedEnvironment app) {
            assertThat(app.exec("sh", "-c", "echo $A $(pwd) $(id -un)"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("class /app app\n");
            assertThat(env.exec("id", "-un")).stdout().isEqualTo("postgres\n");
        }

        @Test
        @Isolated(env = {"PATH=/bin", "EQUALS=a=b"})
        void commandsOwnWin(IsolatedEnvironment env) {
            assertThat(env.exec(Command.of("sh", "-c", "echo $PATH $EQUALS $A $(id -u)")
                            .withEnv("A", "command")
                            .withUser("root")))
                    .succeeded()
                    .stdout()
                    .isEqualTo("/bin a=b command 0\n");
        }
    }

    static class BadAnnotationsTestCase {
        @Test
        @Isolated(env = "NOVALUE")
        void env(IsolatedEnvironment env) {}

        @Test
        @Isolated(workingDirectory = "srv")
        void workingDirectory(IsolatedEnvironment env) {}

        @Test
        @Isolated(user = "a:b:c")
        void user(IsolatedEnvironment env) {}
    }

    @Isolated(user = "postgres")
    static class FailingTestCase {
        @Test
        void fails(IsolatedEnvironment env) {
            assertThat(env.exec("id", "-u")).succeeded();
            assertThat(env.exec(Command.of("id", "-u").withUser("app:staff"))).succeeded();
            assertThat(env.exec(Command.of("id", "-u").withUser(7, 8))).succeeded();
            assertThat(env.exec(Command.of("true").withUser(0, 0))).succeeded();
            assertThat(env.exec("false")).succeeded();
        }
    }
}
