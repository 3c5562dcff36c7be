package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.internal.helper.SharedHelper;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 14: an open environment costs the shared helper a bounded number of file descriptors (none of its own: as
 * root its id range's lock is held by the helper's lock keeper), the helper runs with its soft limit of open files
 * raised, and when the limit is reached (here by running commands' pipes) a new environment fails naming the limit
 * and the fix while the open ones keep working.
 */
@DisplayName("the helper's open files")
@Timeout(value = 300, unit = TimeUnit.SECONDS)
@org.junit.jupiter.api.parallel.Isolated("counts and lowers the limit of this JVM's shared helper")
class FileLimitTests {
    private static final int ENVIRONMENTS = 300;
    /** Open fds an environment may add to the helper (it adds none: its id range's lock is the keeper's). */
    private static final int FDS_PER_ENVIRONMENT = 1;

    @Test
    @DisplayName("300 open environments (own NET and user namespace each) add at most one fd each to the helper")
    void boundedPerEnvironment() throws Exception {
        List<IsolatedEnvironment> open = new ArrayList<>();
        try (IsolatedEnvironment first =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(first.exec("true")).succeeded();
            long helper = SharedHelper.get().pid();
            int before = openFds(helper);
            for (int i = 0; i < ENVIRONMENTS; i++) {
                IsolatedEnvironment env =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start();
                open.add(env);
                assertThat(env.exec("true")).succeeded();
            }
            int grown = openFds(helper) - before;
            assertThat(grown)
                    .as("fds the helper gained for %d open environments", ENVIRONMENTS)
                    .isLessThanOrEqualTo(ENVIRONMENTS * FDS_PER_ENVIRONMENT);
            assertThat(open.get(ENVIRONMENTS - 1).exec("readlink", "/proc/self/ns/net"))
                    .succeeded()
                    .stdout()
                    .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/net")) + "\n");
            closeAll(open);
            assertThat(openFds(helper)).as("fds once they are closed").isLessThanOrEqualTo(before);
        } finally {
            closeAll(open);
        }
    }

    @Test
    @DisplayName("the helper's soft limit is its hard limit; commands inside get the JVM's limits back")
    void softLimitRaised() throws Exception {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            long[] helper = nofile(SharedHelper.get().pid());
            assertThat(helper[0]).as("the helper's soft limit").isEqualTo(helper[1]);
            assertThat(helper[1])
                    .as("the helper's hard limit")
                    .isGreaterThanOrEqualTo(nofile(ProcessHandle.current().pid())[1]);
            long[] jvm = nofile(ProcessHandle.current().pid());
            assertThat(env.exec("sh", "-c", "ulimit -n; ulimit -Hn"))
                    .succeeded()
                    .stdout()
                    .isEqualTo(jvm[0] + "\n" + jvm[1] + "\n");
        }
    }

    @Test
    @DisplayName("at the limit a new environment fails naming it and the fix; open ones work, and freeing some helps")
    void limitReached() throws Exception {
        List<IsolatedEnvironment> open = new ArrayList<>();
        IsolatedEnvironment first =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start();
        open.add(first);
        long helper = SharedHelper.get().pid();
        long hard = nofile(helper)[1];
        // Room for about 20 more environments above the helper's reserve of 64 fds.
        long lowered = openFds(helper) + 64 + 20;
        prlimitSoft(helper, lowered);
        List<IsolatedProcess> running = new ArrayList<>();
        try {
            // An open environment holds no fd in the helper; a running command holds its pipes (2 or 3): 15 of
            // them take more than the 20 left above the reserve.
            for (int i = 0; i < 15; i++) {
                running.add(first.start("sleep", "600"));
            }
            EnvironmentSetupException refused = null;
            for (int i = 0; i < 200 && refused == null; i++) {
                try {
                    open.add(IsolatedEnvironment.builder().rootfs("busybox.tar").start());
                } catch (EnvironmentSetupException e) {
                    refused = e;
                }
            }
            assertThat(refused).as("a refused environment within 200").isNotNull();
            assertThat(refused.stage()).isEqualTo("clone");
            assertThat(refused.errname()).isEqualTo("EMFILE");
            assertThat(refused.hostCannot())
                    .as("the helper's own limit, not the host's: kind=test")
                    .isFalse();
            assertThat(refused)
                    .hasMessageStartingWith("Isolated environment setup failed at stage 'clone': open "
                            + "RLIMIT_NOFILE: Too many open files (EMFILE)\nHint: the helper's ")
                    .hasMessageContaining(" open files reach its limit of " + lowered + " (ulimit -n) less 64 kept for "
                            + "the environments already open: close some, or raise the JVM's limit (ulimit -n, "
                            + "LimitNOFILE= in a systemd unit)");
            for (IsolatedEnvironment env : List.of(first, open.get(open.size() - 1))) {
                assertThat(env.exec("echo", "still here")).succeeded().stdout().isEqualTo("still here\n");
            }
            running.forEach(IsolatedProcess::kill);
            try (IsolatedEnvironment again =
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                assertThat(again.exec("echo", "again")).succeeded().stdout().isEqualTo("again\n");
            }
        } finally {
            prlimitSoft(helper, hard);
            running.forEach(IsolatedProcess::kill);
            closeAll(open);
        }
    }

    @Test
    @DisplayName("a command the helper has no descriptor left for fails at stage 'exec' with the helper's hint, not "
            + "as exit code 126 'cannot execute' (the program was never tried)")
    void commandAtTheLimit() throws Exception {
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            long helper = SharedHelper.get().pid();
            long hard = nofile(helper)[1];
            prlimitSoft(helper, openFds(helper)); // its next descriptor is refused
            try {
                assertThatThrownBy(() -> env.exec("echo", "x"))
                        .isInstanceOf(EnvironmentSetupException.class)
                        // socketpair or pipe2: the limit bounds descriptor numbers, and the helper's have gaps
                        .hasMessageMatching(Pattern.quote("Isolated environment setup failed at stage 'exec': ")
                                + "(socketpair|pipe2)"
                                + Pattern.quote(": Too many open files (EMFILE)\nHint: the helper reached its limit "
                                        + "of open files: close environments, or raise the JVM's limit (ulimit -n, "
                                        + "LimitNOFILE= in a systemd unit)"));
                assertThatThrownBy(() -> env.start("sleep", "600"))
                        .isInstanceOf(EnvironmentSetupException.class)
                        .hasMessageContaining("stage 'exec'")
                        .hasMessageContaining("the helper reached its limit of open files");
            } finally {
                prlimitSoft(helper, hard);
            }
            assertThat(env.exec("echo", "again")).succeeded().stdout().isEqualTo("again\n");
        }
    }

    @Test
    @DisplayName("connections to a mapped port beyond the helper's limit of open files wait without the helper "
            + "spinning, and are relayed once it has fds again")
    void mappedPortAtTheLimit() throws Exception {
        List<Socket> flood = new ArrayList<>();
        try (IsolatedEnvironment env =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start();
                IsolatedEnvironment other =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            env.writeString("/www/index.html", "served\n");
            env.start("httpd", "-f", "-p", "8080", "-h", "/www"); // holds a silent connection for a minute
            env.awaitPort(8080);
            int port = env.mappedPort(8080);
            long helper = SharedHelper.get().pid();
            long hard = nofile(helper)[1];
            // Room for exactly 5 relays (2 fds each): the 6th connection's accept() finds no fd at all.
            prlimitSoft(helper, limitLeaving(helper, 10));
            try {
                for (int i = 0; i < 40; i++) {
                    flood.add(new Socket("127.0.0.1", port)); // the kernel's backlog takes them all
                }
                Thread.sleep(500);
                long before = cpuTicks(helper);
                Thread.sleep(2000);
                assertThat(cpuTicks(helper) - before)
                        .as("the idle helper's CPU time in 2 s, in 1/100 s (spinning: about 200)")
                        .isLessThan(50);
            } finally {
                prlimitSoft(helper, hard);
            }
            Socket waited = flood.get(flood.size() - 1);
            waited.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(new String(waited.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .as("a connection that waited in the backlog")
                    .startsWith("HTTP/1.")
                    .endsWith("served\n");
            assertThat(other.exec("echo", "other")).succeeded().stdout().isEqualTo("other\n");
        } finally {
            for (Socket socket : flood) {
                socket.close();
            }
        }
    }

    /** A soft limit for PID under which exactly FREE fd numbers are unused (the limit bounds numbers, not counts). */
    private static long limitLeaving(long pid, int free) throws IOException {
        List<Integer> open = new ArrayList<>();
        try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            fds.forEach(fd -> open.add(Integer.parseInt(fd.getFileName().toString())));
        }
        int highest = open.stream().max(Integer::compare).orElseThrow();
        int gaps = highest + 1 - open.size();
        assertThat(gaps).as("unused fd numbers of the helper below its highest").isLessThanOrEqualTo(free);
        return highest + 1L + free - gaps;
    }

    /** utime + stime of PID, in clock ticks (1/100 s): /proc/PID/stat's 14th and 15th fields. */
    private static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    }

    private static void closeAll(List<IsolatedEnvironment> envs) {
        for (IsolatedEnvironment env : envs) {
            env.close();
        }
    }

    static int openFds(long pid) throws IOException {
        try (var fds = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            return (int) fds.count();
        }
    }

    /** {soft, hard} of {@code Max open files} in /proc/PID/limits. */
    static long[] nofile(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/limits"))) {
            if (line.startsWith("Max open files")) {
                String[] words =
                        line.substring("Max open files".length()).trim().split("\\s+");
                return new long[] {Long.parseLong(words[0]), Long.parseLong(words[1])};
            }
        }
        throw new IllegalStateException("no Max open files in /proc/" + pid + "/limits");
    }

    private static void prlimitSoft(long pid, long soft) throws Exception {
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(pid), "--nofile=" + soft + ":")
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("prlimit: %s", out).isZero();
        assertThat(nofile(pid)[0]).isEqualTo(soft);
    }
}
