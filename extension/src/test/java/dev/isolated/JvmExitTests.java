package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("a JVM that exits normally")
class JvmExitTests {

    @Test
    @Timeout(120)
    @DisplayName(
            "with an environment still open kills its processes and removes its cgroups and mounts before it exits")
    void environmentOpenAtExit(@TempDir Path tmp) throws Exception {
        String marker = HostSleepers.ownSeconds(13);
        Process child = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Djava.io.tmpdir=" + tmp, // the helper's state dir: what it might leave mounted is in there
                        "-cp",
                        System.getProperty("java.class.path"),
                        OpenAtExitProbe.class.getName(),
                        marker)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String[] ready;
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line = out.readLine();
            assertThat(line).as("the child JVM's first line").startsWith("READY ");
            ready = line.split(" ", -1);
        }
        long init = Long.parseLong(ready[1]);
        String initStartTime = ready[2];
        long sleep = Long.parseLong(ready[3]);
        long helper = Long.parseLong(ready[4]);
        List<String> cgroups = ready[5].isEmpty() ? List.of() : Arrays.asList(ready[5].split(","));
        // What the environment is, while the child runs: so that each check below could fail.
        assertThat(startTime(init)).as("the environment's init, running").isEqualTo(initStartTime);
        assertThat(HostSleepers.of(marker))
                .as("the environment's sleeps")
                .hasSize(301)
                .contains(sleep);
        assertThat(cgroups).as("the init's isolated-* cgroups").isNotEmpty();
        assertThat(cgroupDirectories(cgroups)).as("its cgroup directories").isNotEmpty();

        try (OutputStream in = child.getOutputStream()) {
            in.write("exit\n".getBytes(StandardCharsets.UTF_8)); // main returns, nothing closed
        }
        assertThat(child.waitFor(60, TimeUnit.SECONDS))
                .as("the child JVM exited")
                .isTrue();
        assertThat(child.exitValue()).as("the child JVM's exit code").isZero();

        // At once: the JVM must not exit before they are gone.
        assertThat(startTime(init)).as("the environment's init").isNotEqualTo(initStartTime);
        assertThat(HostSleepers.of(marker)).as("the sleep in the environment").isEmpty();
        assertThat(ProcessHandle.of(helper).flatMap(p -> p.info().command()))
                .as("the child JVM's helper")
                .isEmpty();
        assertThat(cgroupDirectories(cgroups)).as("the environment's cgroups").isEmpty();
        assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo")))
                .as("host mounts under the child's temporary directory")
                .noneMatch(mount -> mount.contains(tmp.toString()));
        try (DirectoryStream<Path> left = Files.newDirectoryStream(tmp)) {
            assertThat(left).as("the helper's state directory").isEmpty();
        }
    }

    /** The existing directories of these cgroup paths in the hierarchies mounted under /sys/fs/cgroup. */
    static List<Path> cgroupDirectories(List<String> cgroups) throws IOException {
        List<Path> found = new ArrayList<>();
        List<Path> hierarchies = new ArrayList<>(List.of(Path.of("/sys/fs/cgroup")));
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(Path.of("/sys/fs/cgroup"))) {
            dirs.forEach(hierarchies::add);
        }
        for (Path hierarchy : hierarchies) {
            for (String cgroup : cgroups) {
                Path dir = hierarchy.resolve(cgroup.substring(1));
                if (Files.isDirectory(dir)) {
                    found.add(dir);
                }
            }
        }
        return found;
    }

    /** The 22nd field of /proc/PID/stat, or "" when there is no such process. */
    private static String startTime(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
        } catch (IOException gone) {
            return "";
        }
    }
}
