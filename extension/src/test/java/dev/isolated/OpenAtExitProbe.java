package dev.isolated;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * A child JVM for {@link JvmExitTests}: opens an environment (through the public builder), starts
 * {@code sleep <marker>} in it and 300 more in the background (so that its teardown takes a while), waits until all
 * 301 run {@code sleep} (up to 30 s), prints
 * {@code READY <init host pid> <init start time> <sleep host pid> <helper pid> <cgroups>} (the start time the
 * 22nd field of the init's {@code /proc/PID/stat}; the cgroups the init's {@code isolated-*} cgroup paths,
 * comma-separated), waits for a line on stdin (so that the test can see them first) and returns from
 * {@code main} closing nothing, so the JVM exits normally with the environment open.
 */
public final class OpenAtExitProbe {
    private OpenAtExitProbe() {}

    public static void main(String[] args) throws IOException {
        String marker = args[0];
        IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start(); // never closed, on purpose
        IsolatedProcess sleeper = env.start("sleep", marker);
        // 300 more, so that killing them takes the helper a while: a JVM that did not wait for it would exit first
        env.exec("sh", "-c", "for i in $(seq 300); do sleep " + marker + " & done");
        // The shell returns once it forked them; each becomes `sleep` only at its exec, which can come later.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (HostSleepers.of(marker).size() < 301 && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        String init = Long.toString(env.initHostPid());
        String stat = Files.readString(Path.of("/proc", init, "stat"));
        String startTime = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19];
        String cgroups = Files.readAllLines(Path.of("/proc", init, "cgroup")).stream()
                .map(line -> line.substring(line.indexOf(':', line.indexOf(':') + 1) + 1))
                .filter(path -> path.contains("/isolated-"))
                .distinct()
                .collect(Collectors.joining(","));
        long helper = ProcessHandle.current()
                .children()
                .filter(p -> p.info().command().orElse("").contains("isolated-helper"))
                .findFirst()
                .orElseThrow()
                .pid();
        System.out.println("READY " + init + " " + startTime + " " + sleeper.hostPid() + " " + helper + " " + cgroups);
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    }
}
