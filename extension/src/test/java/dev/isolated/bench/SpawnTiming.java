package dev.isolated.bench;

import dev.isolated.IsolatedEnvironment;
import dev.isolated.Namespace;
import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.EnvironmentSpec;
import dev.isolated.internal.helper.SharedHelper;
import dev.isolated.internal.image.ImageCache;
import dev.isolated.internal.image.RootfsLocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * A small timing harness (not a test): a fresh environment plus one command, and one command in a running
 * environment, side by side with what a user could do instead from the same JVM: a plain
 * {@code ProcessBuilder("/bin/true")}, util-linux {@code unshare ... chroot}, and bubblewrap. Prints medians
 * and ratios. Run with the {@code bench} profile, see the README.
 */
public final class SpawnTiming {
    private SpawnTiming() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path rootfs = ImageCache.atDefaultLocation(note -> { }).rootfsFor(
                new RootfsLocator(SpawnTiming.class.getClassLoader(), Paths.get("")).locate("busybox.tar"));
        EnvironmentSpec spec = EnvironmentSpec.of(rootfs,
                EnumSet.of(Namespace.PID, Namespace.MOUNT, Namespace.UTS, Namespace.IPC, Namespace.NET), "bench",
                Duration.ofMinutes(1));
        Map<String, Callable<Integer>> cases = new LinkedHashMap<>();
        cases.put("ProcessBuilder /bin/true (floor)", () -> spawn("/bin/true"));
        cases.put("Isolated: fresh environment + exec true", () -> {
            try (Environment env = Environment.create(SharedHelper.get(), spec)) {
                return env.exec("true").exitCode();
            }
        });
        IsolatedEnvironment running = Environment.create(SharedHelper.get(), spec);
        cases.put("Isolated: exec true in a running environment", () -> running.exec("true").exitCode());
        cases.put("Isolated: create + close, no command", () -> {
            Environment.create(SharedHelper.get(), spec).close();
            return 0;
        });
        if (Files.isExecutable(Paths.get("/usr/bin/unshare"))) {
            cases.put("unshare -p -f -m -u -i -n --mount-proc chroot", () -> spawn("unshare", "-p", "-f", "-m", "-u", "-i",
                    "-n", "--mount-proc=" + rootfs.resolve("proc"), "chroot", rootfs.toString(), "/bin/true"));
        }
        if (Files.isExecutable(Paths.get("/usr/bin/bwrap"))) {
            cases.put("bwrap --unshare-all", () -> spawn("bwrap", "--unshare-all", "--ro-bind", rootfs.toString(), "/",
                    "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"));
        } else {
            System.out.println("(bubblewrap not installed: apt-get install bubblewrap to compare with it)");
        }
        Map<String, Double> medians = new LinkedHashMap<>();
        for (Map.Entry<String, Callable<Integer>> c : cases.entrySet()) {
            medians.put(c.getKey(), measure(c.getValue(), runs));
        }
        running.close();
        double floor = medians.values().iterator().next();
        System.out.printf("%-50s %10s %10s%n", "what (warm JVM, " + runs + " runs)", "median ms", "÷ floor");
        for (Map.Entry<String, Double> m : medians.entrySet()) {
            System.out.printf("%-50s %10.2f %10.2f%n", m.getKey(), m.getValue(), m.getValue() / floor);
        }
    }

    private static int spawn(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        int code = p.waitFor();
        if (code != 0) {
            throw new IllegalStateException(Arrays.toString(command) + " exited with " + code);
        }
        return code;
    }

    private static double measure(Callable<Integer> task, int runs) throws Exception {
        for (int i = 0; i < Math.max(10, runs / 10); i++) {
            task.call();
        }
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            Integer code = task.call();
            times.add(System.nanoTime() - t0);
            if (code != 0) {
                throw new IllegalStateException("exit code " + code);
            }
        }
        times.sort(null);
        return times.get(times.size() / 2) / 1e6;
    }
}
