package dev.isolated.security;

import static dev.isolated.security.Attacks.env;
import static dev.isolated.security.Attacks.probe;
import static dev.isolated.security.Attacks.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.isolated.Capabilities;
import dev.isolated.ExecResult;
import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.LinuxNamespace;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * Filesystem escapes: a command (or a file the JVM reads or writes for the test) tries to reach a host file
 * holding a random secret, by path tricks, through /proc, by leaving its root, by mounting, through device
 * nodes. Each attack must run (its probe prints probe-done) and must not yield the secret.
 */
@DisplayName("security: filesystem escapes")
class FilesystemEscapeAttackTests {

    @ParameterizedTest(name = "cat {0}<host secret path> reads nothing of the host")
    @DisplayName("a path trick to a host file")
    @ValueSource(
            strings = {
                "",
                "/../../../../..",
                "/proc/1/root",
                "/proc/self/root",
                "/proc/self/cwd/../..",
                "/proc/INIT/root"
            })
    void pathTricks(String prefix) {
        Path secret = Attacks.hostSecret();
        try (IsolatedEnvironment env = env().start()) {
            String p = prefix.replace("INIT", Long.toString(env.initHostPid())) + secret;
            List<String> lines = probe(env, "cat=/etc/hostname", "cat=" + p);
            assertThat(lines.get(0))
                    .as("control: the probe reads its own files")
                    .startsWith("cat=ok:");
            assertThat(lines.get(1)).isIn("cat=ENOENT", "cat=EACCES");
            assertThat(String.join("\n", lines)).doesNotContain(Attacks.secretOf(secret));
        }
    }

    @Test
    @DisplayName(
            "the chroot escape (chroot into a subdirectory, climb out, chroot .) lands in the environment's own root, never the host's")
    void chrootEscapeWithMount() {
        Path secret = Attacks.hostSecret();
        try (IsolatedEnvironment env = env().start()) {
            List<String> lines = probe(env, "chroot-escape", "cat=/etc/hostname", "cat=" + secret);
            assertThat(lines).contains("chroot=ok", "cat=ENOENT");
            assertThat(String.join("\n", lines)).doesNotContain(Attacks.secretOf(secret));
        }
    }

    @Test
    @DisplayName("without MOUNT (a plain chroot) the chroot escape fails with EPERM, also with capabilities = ALL")
    void chrootEscapeWithoutMount() {
        Path secret = Attacks.hostSecret();
        try (IsolatedEnvironment env = env().namespaces(LinuxNamespace.PID, LinuxNamespace.UTS)
                .capabilities(Capabilities.ALL)
                .start()) {
            List<String> lines = probe(env, "chroot-escape", "cat=" + secret);
            assertThat(lines).contains("chroot=EPERM", "cat=ENOENT");
        }
    }

    @ParameterizedTest(name = "{0} fails with EPERM")
    @DisplayName("a mount-namespace escape")
    @ValueSource(strings = {"mount-tmpfs", "pivot_root", "unshare-mount", "setns-init", "open_by_handle_at", "shocker"})
    void mountNamespaceEscape(String attempt) {
        try (IsolatedEnvironment env = env().start()) {
            // setns needs the namespace's descriptor first: /proc/1/ns/mnt of the init does not even open (EACCES)
            assertThat(probe(env, attempt))
                    .containsAnyOf(
                            attempt + "=EPERM",
                            attempt.equals("setns-init") ? "setns-init=EACCES" : attempt + "=EPERM");
        }
    }

    @Test
    @DisplayName("writing a host sysctl through /proc/sys (its own value back) fails: read-only")
    void procSysWrite() throws Exception {
        String before = Files.readString(Path.of("/proc/sys/fs/file-max"));
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r =
                    sh(env, "cat /proc/sys/fs/file-max > /tmp/v && cat /tmp/v > /proc/sys/fs/file-max; echo rc=$?");
            assertThat(r.stdoutLines()).contains("rc=1");
            assertThat(r.stderr()).contains("Read-only file system");
        }
        assertThat(Files.readString(Path.of("/proc/sys/fs/file-max"))).isEqualTo(before);
    }

    @Test
    @DisplayName(
            "with capabilities = ALL, unmasking /proc/sys (umount, or a fresh proc mount) still writes no host sysctl")
    void procSysUnmask() throws Exception {
        String before = Files.readString(Path.of("/proc/sys/fs/file-max"));
        try (IsolatedEnvironment env = env().capabilities(Capabilities.ALL).start()) {
            ExecResult r = sh(
                    env,
                    "v=$(cat /proc/sys/fs/file-max); umount -l /proc/sys; echo umount=$?; "
                            + "echo $v > /proc/sys/fs/file-max; echo write=$?; mkdir -p /tmp/p && mount -t proc proc /tmp/p; "
                            + "echo proc=$?; echo $v > /tmp/p/sys/fs/file-max; echo write2=$?");
            assertThat(r.stdoutLines()).as(r.toString()).contains("write=1", "write2=1", "proc=0");
        }
        assertThat(Files.readString(Path.of("/proc/sys/fs/file-max"))).isEqualTo(before);
    }

    @ParameterizedTest(name = "{0} reads as empty (or this kernel has none)")
    @DisplayName("a /proc file that leaks the host's kernel memory, keys or timers")
    @ValueSource(strings = {"/proc/kcore", "/proc/keys", "/proc/timer_list"})
    void procMasks(String file) {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = sh(env, "if [ -e " + file + " ]; then wc -c < " + file + "; else echo absent; fi");
            if (Files.exists(Path.of(file))) {
                assertThat(r.stdoutLines()).as(r.toString()).containsExactly("probe-ran", "0", "probe-done");
            } else {
                assertThat(r.stdoutLines())
                        .as("this kernel has no %s: %s", file, r)
                        .containsExactly("probe-ran", "absent", "probe-done");
            }
        }
    }

    @Test
    @DisplayName("writing /proc/sysrq-trigger fails (read-only; or this kernel has none)")
    void sysrqTrigger() {
        try (IsolatedEnvironment env = env().start()) {
            // a newline is no sysrq key: even a write that got through would only log the help text
            ExecResult r = sh(env, "printf '\\n' > /proc/sysrq-trigger; echo sysrq=$?");
            assertThat(r.stdoutLines()).contains("sysrq=1");
            assertThat(r.stderr())
                    .as(
                            "this kernel has %s /proc/sysrq-trigger",
                            Files.exists(Path.of("/proc/sysrq-trigger")) ? "a" : "no")
                    .containsAnyOf("Read-only file system", "nonexistent directory", "No such file");
        }
    }

    @Test
    @DisplayName("/sys: nothing of the host's is there, and a sysfs cannot be mounted")
    void noSysfs() {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = sh(
                    env,
                    "ls -A /sys | wc -l; mount -t sysfs sysfs /sys; echo mount=$?; ls /sys/class 2>&1 >/dev/null; echo class=$?");
            assertThat(r.stdoutLines()).as(r.toString()).contains("0", "mount=1", "class=1");
        }
    }

    @Test
    @DisplayName("mknod of /dev/mem in the environment gives no device: mknod or open is refused")
    void mknodAndOpen() {
        try (IsolatedEnvironment env = env().start()) {
            List<String> lines = probe(env, "mknod-mem", "open=/tmp/isolated-mem", "open=/dev/null");
            assertThat(lines).as("control: /dev/null opens").contains("open=ok");
            assertThat(lines.get(1)).isIn("open=EACCES", "open=ENOENT", "open=EPERM");
        }
    }

    @Test
    @DisplayName("a device node in a writable @Bind does not open (nodev); rootless, none can be made there")
    void deviceNodeInWritableBind(@TempDir Path dir) throws Exception {
        Path shared = Files.createDirectories(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        if (Attacks.root()) {
            Process mknod = new ProcessBuilder("mknod", shared.resolve("mem").toString(), "c", "1", "1").start();
            assertThat(mknod.waitFor())
                    .as("host root makes /dev/mem's twin in the bound directory")
                    .isZero();
        }
        try (IsolatedEnvironment env = env().bindWritable(shared, "/shared").start()) {
            List<String> lines = probe(env, "open=/shared/mem");
            if (Attacks.root()) {
                assertThat(lines.get(0)).isEqualTo("open=EACCES");
            } else {
                ExecResult made = sh(env, "mknod /shared/mem c 1 1; echo mknod=$?");
                assertThat(made.stdoutLines()).contains("mknod=1");
                assertThat(shared.resolve("mem")).doesNotExist();
            }
        }
    }

    @Test
    @DisplayName("the overlay's host directories named in mountinfo are not reachable from inside")
    void overlayUpperDir() {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = sh(
                    env,
                    "d=$(sed -n 's/.*[ ,]\\(upperdir\\|lowerdir\\)=\\([^,:]*\\).*/\\2/p' /proc/self/mountinfo | head -1); "
                            + "echo dir=$d; ls \"$d\" >/dev/null 2>&1 && echo reached");
            String dir = r.stdoutLines().get(1);
            assertThat(dir)
                    .as("the host has overlayfs: mountinfo names the layers; %s", r)
                    .matches("dir=/.+");
            assertThat(r.stdoutLines()).doesNotContain("reached");
        }
    }

    @Test
    @DisplayName("commands inherit no descriptor of the host but stdio")
    void noInheritedDescriptors() {
        try (IsolatedEnvironment env = env().start()) {
            ExecResult r = sh(env, "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo");
            assertThat(r.stdoutLines().get(1).trim()).isEqualTo("0 1 2 3");
        }
    }

    @Test
    @DisplayName("readString of a symlink to a host path reads inside the environment, never the host file")
    void readStringThroughSymlink() {
        Path secret = Attacks.hostSecret();
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "ln -s " + secret + " /tmp/l; ln -s ../../../../.." + secret + " /tmp/l2");
            assertThatThrownBy(() -> env.readString("/tmp/l")).hasMessageNotContaining(Attacks.secretOf(secret));
            assertThatThrownBy(() -> env.readString("/tmp/l2")).hasMessageNotContaining(Attacks.secretOf(secret));
        }
    }

    @Test
    @DisplayName(
            "writeString through a symlink to a host file writes inside the environment, the host file is unchanged")
    void writeStringThroughSymlink() throws Exception {
        Path secret = Attacks.hostSecret();
        String before = Files.readString(secret);
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "ln -s " + secret + " /tmp/l");
            try {
                env.writeString("/tmp/l", "pwned\n");
            } catch (RuntimeException refused) {
                // refusing is as good as writing inside
            }
        }
        assertThat(Files.readString(secret)).isEqualTo(before);
    }

    @Test
    @DisplayName("copyIn into a symlink to a host directory puts nothing into the host directory")
    void copyInThroughSymlink(@TempDir Path dir) throws Exception {
        Path hostDir = Files.createDirectories(dir.resolve("victim"));
        Path payload = Files.writeString(dir.resolve("payload"), "pwned\n");
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "ln -s " + hostDir + " /tmp/dl");
            try {
                env.copyIn(payload, "/tmp/dl/payload");
            } catch (RuntimeException refused) {
                // refusing is as good as writing inside
            }
        }
        try (var files = Files.list(hostDir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    @DisplayName("copyOut through a symlinked directory to a host directory copies nothing of the host")
    void copyOutThroughSymlink(@TempDir Path dir) throws Exception {
        Path secret = Attacks.hostSecret();
        try (IsolatedEnvironment env = env().start()) {
            sh(env, "ln -s " + secret.getParent() + " /tmp/dl");
            Path out = dir.resolve("out");
            try {
                env.copyOut("/tmp/dl/secret", out);
            } catch (RuntimeException refused) {
                // refused: nothing copied
            }
            assertThat(!Files.exists(out) || !Files.readString(out).contains(Attacks.secretOf(secret)))
                    .isTrue();
        }
    }

    @Test
    @DisplayName(
            "isolated.keepOnFailure: symlinks to host files, and directories swapped for symlinks to the host while the layer is kept, never copy a host file")
    void keepOnFailureSymlinkSwap(@TempDir Path dir) throws Exception {
        Path secret = Attacks.hostSecret();
        KeepFixture.hostDir = secret.getParent();
        EngineExecutionResults results;
        try {
            results = EngineTestKit.engine("junit-jupiter")
                    .selectors(selectClass(KeepFixture.class))
                    .configurationParameter("isolated.keepOnFailure", "true")
                    .configurationParameter(
                            "isolated.keepOnFailure.dir", dir.resolve("kept").toString())
                    .execute();
        } finally {
            KeepFixture.hostDir = null;
        }
        Throwable failure = results.testEvents().failed().stream()
                .map(e -> e.getPayload(TestExecutionResult.class)
                        .orElseThrow()
                        .getThrowable()
                        .orElseThrow())
                .findFirst()
                .orElseThrow(() -> new AssertionError("the planting test did not run and fail"));
        String report = failure.getSuppressed()[0].getMessage();
        Matcher kept = Pattern.compile("Writable layer kept at (\\S+)").matcher(report);
        assertThat(kept.find()).as(report).isTrue();
        Path layer = Path.of(kept.group(1));
        assertThat(layer.resolve("r"))
                .as("the attack ran: its directories were kept")
                .isDirectory();
        assertThat(Files.isSymbolicLink(layer.resolve("etc/secret-link"))).isTrue();
        try (var all = Files.walk(layer)) { // does not follow symlinks
            for (Path p : (Iterable<Path>) all::iterator) {
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    assertThat(Files.readString(p)).as(p.toString()).doesNotContain(Attacks.secretOf(secret));
                }
            }
        }
    }

    /** Run by {@link #keepOnFailureSymlinkSwap}: plants symlinks to the host and swaps directories, then fails. */
    @Isolated(rootfs = "busybox.tar")
    static class KeepFixture {
        static volatile Path hostDir;

        @Test
        void fails(IsolatedEnvironment env) {
            if (hostDir == null) {
                return; // run on its own (a -Dtest pattern selects nested classes too), not by the attack: nothing to
                // plant
            }
            ExecResult planted = env.exec(
                    "sh",
                    "-c",
                    "ln -s " + hostDir.resolve("secret") + " /etc/secret-link && ln -s "
                            + hostDir
                            + " /etc/host-dir && for i in $(seq 25); do mkdir -p /r/d$i/sub; echo in > /r/d$i/sub/f; done; "
                            + "(while :; do for i in $(seq 25); do mv /r/d$i /r/x$i; ln -s " + hostDir
                            + " /r/d$i; rm /r/d$i; "
                            + "mv /r/x$i /r/d$i; done; done) </dev/null >/dev/null 2>&1 & sleep 0.2");
            assertThat(planted.exitCode()).isZero();
            assertThat(env.exec("false").exitCode())
                    .as("fails on purpose, so that the layer is kept")
                    .isZero();
        }
    }
}
