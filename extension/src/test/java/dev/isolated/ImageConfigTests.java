package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.image.ImageBuilder;
import dev.isolated.image.ImageConfig;
import dev.isolated.internal.image.TestImages;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.RepeatedTest;
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
        return IsolatedEnvironment.builder().rootfs(image(runConfig)).start();
    }

    /** A docker save tar of busybox plus a layer with /app and accounts, with RUNCONFIG as its config. */
    private String image(String runConfig) throws Exception {
        byte[] busybox;
        try (InputStream in = getClass().getResourceAsStream("/busybox.tar")) {
            busybox = in.readAllBytes();
        }
        byte[] app = TestImages.layer(List.of("app"), ACCOUNTS);
        Path image = Files.write(
                dir.resolve("app-" + Integer.toHexString(runConfig.hashCode()) + ".tar"),
                TestImages.dockerSave(runConfig, busybox, app));
        return image.toString();
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
    @DisplayName("a WorkingDir the image does not have is made when the environment is, as Docker makes it: "
            + "root's, 0755, with its missing parents")
    void missingWorkingDirMade() throws Exception {
        try (IsolatedEnvironment env = start("{\"User\":\"app\",\"WorkingDir\":\"/srv/app\"}")) {
            assertThat(env.exec("sh", "-c", "pwd; stat -c '%u:%g %a' /srv/app /srv"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("/srv/app\n0:0 755\n0:0 755\n");
            Process viaBuilder = env.processBuilder("pwd").start();
            assertThat(new String(viaBuilder.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("/srv/app\n");
            assertThat(viaBuilder.waitFor()).isZero();
        }
    }

    @Test
    @DisplayName("a working directory given to the environment or to a command is not made: a missing one fails "
            + "each command with exit code 125, naming it")
    void givenWorkingDirNotMade() throws Exception {
        String image = image("{\"WorkingDir\":\"/srv/app\"}");
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(image)
                .workingDirectory("/srv/other")
                .start()) {
            ExecResult result = env.exec("true");
            assertThat(result).exitedWith(125);
            assertThat(result.stderr())
                    .isEqualTo("isolated: working directory /srv/other does not exist in the environment\n");
            assertThat(env.exec(Command.of("test", "-e", "/srv/app").withWorkingDirectory("/")))
                    .as("the image's WorkingDir is not made when the environment's replaces it")
                    .exitedWith(1);
        }
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs(image).start()) {
            ExecResult result = env.exec(Command.of("true").withWorkingDirectory("/srv/none"));
            assertThat(result).exitedWith(125);
            assertThat(result.stderr())
                    .isEqualTo("isolated: working directory /srv/none does not exist in the environment\n");
        }
    }

    @Test
    @DisplayName("under a read-only rootfs a missing WorkingDir is not made: each command fails with exit code 125, "
            + "naming it")
    void missingWorkingDirReadOnly() throws Exception {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs(image("{\"WorkingDir\":\"/srv/app\"}"))
                .readOnlyRootfs(true)
                .start()) {
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
    @DisplayName("a WorkingDir that cannot be made (below a dangling symlink) fails the environment's creation, "
            + "naming it")
    void workingDirCannotBeMade() throws Exception {
        Path layer = dir.resolve("dangling.tar");
        ImageBuilder.from("busybox.tar").symlink("/srv", "/nowhere").writeTar(layer);
        Path image = Files.write(
                dir.resolve("dangling-image.tar"),
                TestImages.dockerSave("{\"WorkingDir\":\"/srv/app\"}", Files.readAllBytes(layer)));
        assertThatThrownBy(() ->
                        IsolatedEnvironment.builder().rootfs(image.toString()).start())
                .isInstanceOf(IsolatedException.class)
                .hasMessageStartingWith("The image's WorkingDir /srv/app is not in its rootfs and could not be made "
                        + "in the environment (it was closed): Cannot make the directory /srv/app: openat2 /srv in the "
                        + "environment of host pid ")
                .hasMessageEndingWith(": No such file or directory (errno 2). Add the directory to the image, or "
                        + "give the environment a working directory that exists (@Isolated(workingDirectory = ...), "
                        + "builder().workingDirectory(...))");
    }

    @Test
    @DisplayName("environments made from a frozen state have the WorkingDir too, also when the frozen one removed it")
    void missingWorkingDirFrozen() throws Exception {
        String image = image("{\"WorkingDir\":\"/srv/app\"}");
        FrozenState kept;
        FrozenState removed;
        try (IsolatedEnvironment a = IsolatedEnvironment.builder().rootfs(image).start()) {
            assertThat(a.exec("sh", "-c", "echo data > /srv/app/file")).succeeded();
            kept = a.freeze("kept");
        }
        try (IsolatedEnvironment a = IsolatedEnvironment.builder().rootfs(image).start()) {
            assertThat(a.exec(Command.of("rm", "-r", "/srv").withWorkingDirectory("/")))
                    .succeeded();
            removed = a.freeze("removed");
        }
        try (IsolatedEnvironment fromKept =
                        IsolatedEnvironment.builder().from(kept).start();
                IsolatedEnvironment fromRemoved =
                        IsolatedEnvironment.builder().from(removed).start()) {
            assertThat(fromKept.exec("sh", "-c", "pwd; cat file"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("/srv/app\ndata\n");
            assertThat(fromRemoved.exec("sh", "-c", "pwd; stat -c '%u:%g %a' .; ls -A"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("/srv/app\n0:0 755\n");
        }
    }

    @Test
    @DisplayName("spare environments make a missing WorkingDir too: every test of a class finds it")
    void missingWorkingDirInSpares() throws Exception {
        SparesTestCase.seen.clear();
        SparesTestCase.inits.clear();
        SparesTestCase.othersSeen.clear();
        EngineRunner.assertAllSucceeded(
                EngineRunner.run(
                        SparesTestCase.class,
                        Map.of(IsolatedConfiguration.ROOTFS, image("{\"WorkingDir\":\"/srv/app\"}"))),
                4);
        assertThat(SparesTestCase.seen).hasSize(4).containsOnly("/srv/app 0:0 755");
        for (int test = 2; test < 4; test++) {
            assertThat(SparesTestCase.othersSeen.get(test - 1))
                    .as("test %d took the spare made while the test before ran", test + 1)
                    .contains(SparesTestCase.inits.get(test));
        }
    }

    @Test
    @DisplayName("run by uid 65534 (rootless), a missing WorkingDir is made too: the environment's root's, 0755")
    void missingWorkingDirRootless() throws Exception {
        Path image = Path.of(image("{\"WorkingDir\":\"/srv/app\"}"));
        Files.setPosixFilePermissions(image, PosixFilePermissions.fromString("rw-r--r--"));
        Path run = NobodyJvm.runDirectory(dir, "run");
        List<String> lines = NobodyJvm.runFixture(run, RootlessTestCase.class, List.of(), "isolated.rootfs=" + image);
        assertThat(lines).hasSize(2).allSatisfy(line -> assertThat(line).startsWith("SUCCESSFUL"));
    }

    static class RootlessTestCase {
        @Test
        @Isolated(namespaces = {LinuxNamespace.PID, LinuxNamespace.MOUNT})
        void madeInside(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "pwd; stat -c '%u:%g %a' /srv/app"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("/srv/app\n0:0 755\n");
        }

        @Test
        @Isolated(
                namespaces = {LinuxNamespace.PID, LinuxNamespace.MOUNT},
                userMapping = UserMapping.SELF)
        void madeAsSelf(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "pwd; stat -c '%u:%g %a' /srv/app"))
                    .succeeded()
                    .stdout()
                    .isEqualTo("/srv/app\n65534:65534 755\n");
        }
    }

    /** Records what each test sees of the image's WorkingDir, and the inits (to tell that spares were taken). */
    @Isolated
    static class SparesTestCase {
        static final List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        static final List<Long> inits = new java.util.concurrent.CopyOnWriteArrayList<>();
        static final List<List<Long>> othersSeen = new java.util.concurrent.CopyOnWriteArrayList<>();

        @RepeatedTest(4)
        void take(IsolatedEnvironment env) throws Exception {
            inits.add(env.initHostPid());
            seen.add(env.exec("sh", "-c", "echo $(pwd) $(stat -c '%u:%g %a' .)")
                    .stdout()
                    .strip());
            othersSeen.add(SpareEnvironmentTests.otherInitsOnceASpareIsAsked(env, inits));
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
