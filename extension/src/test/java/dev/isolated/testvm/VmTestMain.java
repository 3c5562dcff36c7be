package dev.isolated.testvm;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.launcher.EngineFilter.includeEngines;
import static org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder.request;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs test classes in the test VM and prints, on stdout (the VM's serial console), as it happens: a line when a
 * test starts ({@code VMSTART <phase> <Class#method>}), one when it finishes ({@code VMTEST <phase> <Class#method>
 * <STATUS> <seconds>s <exception: message>}, tab-separated; a failure's stack trace follows as {@code VMTRACE}
 * lines), the JVM's cgroup before and after and each class's time ({@code VMFACT}).
 *
 * <p>A test still running after {@link #HUNG} is hung, not slow (the slowest takes under 10 s on a quiet host, 25 s
 * on one loaded eightfold), and so is a class whose set-up or tear-down runs that long: then {@code VMHUNG <phase>
 * <Class#method> <seconds>s} is printed (for a class: {@code (no test running, since the start of <Class>)}), with the threads' stacks and the processes
 * below this JVM ({@code VMHUNGINFO}), and the JVM exits with {@link #HUNG_EXIT}, so that the VM's script stops
 * and the host fails at once instead of at its time limit.
 */
public final class VmTestMain {
    /** How long one test may run before it counts as hung. */
    public static final Duration HUNG = Duration.ofSeconds(60);

    /** The JVM's exit code after a hung test. */
    public static final int HUNG_EXIT = 3;

    private static final Map<String, Long> RUNNING = new ConcurrentHashMap<>();

    /** When a test or class last started or finished, and which: a class's set-up or tear-down can hang too. */
    private static volatile long lastEvent = System.nanoTime();

    private static volatile String lastEventName = "the JVM's start";

    private VmTestMain() {}

    /** @param args the phase's name, then the test classes */
    public static void main(String[] args) throws Exception {
        String phase = args[0];
        fact(phase, "before");
        Thread watchdog = new Thread(() -> watch(phase), "vm-hang-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        for (String name : Arrays.asList(args).subList(1, args.length)) {
            long start = System.nanoTime();
            LauncherFactory.create()
                    .execute(
                            request()
                                    .selectors(selectClass(Class.forName(name)))
                                    .filters(includeEngines("junit-jupiter"))
                                    .build(),
                            new Reporter(phase));
            System.out.printf("VMFACT\t%s\t%s\ttook %.1f s%n", phase, name, (System.nanoTime() - start) / 1e9);
        }
        fact(phase, "after");
    }

    /** Prints each test's start and end as they happen. */
    private static final class Reporter implements TestExecutionListener {
        private final String phase;

        Reporter(String phase) {
            this.phase = phase;
        }

        @Override
        public void executionStarted(TestIdentifier test) {
            event("the start of " + name(test));
            if (test.isTest()) {
                RUNNING.put(name(test), System.nanoTime());
                print(String.join("\t", "VMSTART", phase, name(test)));
            }
        }

        @Override
        public void executionFinished(TestIdentifier test, TestExecutionResult result) {
            event("the end of " + name(test));
            if (!test.isTest()) {
                return;
            }
            Long started = RUNNING.remove(name(test));
            long took = started == null ? 0 : System.nanoTime() - started;
            String message = result.getThrowable()
                    .map(t -> t.getClass().getSimpleName() + ": " + t.getMessage())
                    .orElse("");
            print(String.join(
                    "\t",
                    "VMTEST",
                    phase,
                    name(test),
                    result.getStatus().name(),
                    String.format("%.1fs", took / 1e9),
                    oneLine(message)));
            if (result.getStatus() == TestExecutionResult.Status.FAILED) {
                StringWriter trace = new StringWriter();
                result.getThrowable().orElseThrow().printStackTrace(new PrintWriter(trace));
                trace.toString().lines().limit(40).forEach(line -> print("VMTRACE\t" + phase + "\t" + line));
            }
        }
    }

    private static void event(String name) {
        lastEventName = name;
        lastEvent = System.nanoTime();
    }

    private static String name(TestIdentifier test) {
        return test.getSource()
                .filter(MethodSource.class::isInstance)
                .map(MethodSource.class::cast)
                .map(s -> s.getJavaClass().getSimpleName() + "#" + s.getMethodName())
                .orElse(test.getDisplayName());
    }

    /** Every second: a test running longer than {@link #HUNG} ends the JVM, saying which and where it is. */
    private static void watch(String phase) {
        while (true) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            if (now - lastEvent > HUNG.toNanos()) {
                String what = RUNNING.isEmpty()
                        ? "(no test running, since " + lastEventName + ")"
                        : String.join(", ", RUNNING.keySet());
                print(String.join("\t", "VMHUNG", phase, what, String.format("%.0fs", (now - lastEvent) / 1e9)));
                hungInfo(phase);
                Runtime.getRuntime().halt(HUNG_EXIT);
            }
        }
    }

    /** The stacks of the JVM's threads and the processes below it (pid, state, kernel wait, cgroup, command). */
    private static void hungInfo(String phase) {
        for (ThreadInfo thread : ManagementFactory.getThreadMXBean().dumpAllThreads(false, false)) {
            if (thread.getThreadName().startsWith("vm-hang-watchdog")) {
                continue;
            }
            print("VMHUNGINFO\t" + phase + "\tthread " + thread.getThreadName() + " " + thread.getThreadState());
            Stream.of(thread.getStackTrace()).limit(25).forEach(f -> print("VMHUNGINFO\t" + phase + "\t    at " + f));
        }
        print("VMHUNGINFO\t" + phase + "\tmemory "
                + read("/proc/meminfo")
                        .replaceAll(
                                ".*(MemTotal: *\\d+ kB).*(MemAvailable: *\\d+ kB).*(Shmem: *\\d+ kB).*", "$1 $2 $3"));
        ProcessHandle.current()
                .descendants()
                .forEach(p -> print("VMHUNGINFO\t" + phase + "\tprocess " + p.pid()
                        + " " + read("/proc/" + p.pid() + "/stat").replaceFirst("^\\d+ \\((.*)\\) (\\S).*", "$1 $2")
                        + " wchan=" + read("/proc/" + p.pid() + "/wchan") + " " + read("/proc/" + p.pid() + "/cgroup")
                        + " " + p.info().commandLine().orElse("") + kernelStack("/proc/" + p.pid())));
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            tasks.forEach(task -> print("VMHUNGINFO\t" + phase + "\tjvm task " + task.getFileName() + " "
                    + read(task + "/comm") + " " + read(task + "/stat").replaceFirst("^\\d+ \\(.*\\) (\\S).*", "$1")
                    + " wchan=" + read(task + "/wchan") + kernelStack(task.toString())));
        } catch (IOException e) {
            print("VMHUNGINFO\t" + phase + "\tno /proc/self/task: " + e);
        }
    }

    /** @return where the task waits in the kernel ({@code stack}: root only), innermost first, or "" */
    private static String kernelStack(String task) {
        String stack = read(task + "/stack");
        return stack.equals("?") || stack.isEmpty()
                ? ""
                : " kernel: " + stack.replaceAll("\\[<[0-9a-f]+>\\] ", "").replaceAll("\\+0x[0-9a-f]+/0x[0-9a-f]+", "");
    }

    private static String read(String path) {
        try {
            return oneLine(Files.readString(Path.of(path)).strip());
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /**
     * @param serial the serial log of a VM that ran this class
     * @return for a failure message: the tests that started and did not finish (or, when none, the guest's last
     *     progress line), what {@code VMHUNG} said, and the kernel's OOM lines ({@code VMKERNEL}, see {@link TestVm})
     */
    public static String diagnosis(String serial) {
        Map<String, String> unfinished = new java.util.LinkedHashMap<>();
        StringBuilder found = new StringBuilder();
        for (String line : serial.lines().toList()) {
            String[] f = line.split("\t", 4);
            if (f[0].equals("VMSTART") && f.length >= 3) {
                unfinished.put(f[1] + " " + f[2], line);
            } else if (f[0].equals("VMTEST") && f.length >= 3) {
                unfinished.remove(f[1] + " " + f[2]);
            } else if (f[0].matches("VMHUNG|VMHUNGINFO|VMKERNEL")) {
                found.append(line).append('\n');
            }
        }
        List<String> progress = serial.lines()
                .filter(l -> l.matches("VM(START|TEST|FACT|PHASE)\t.*"))
                .toList();
        String running = unfinished.isEmpty()
                ? "no test was running; the guest's last progress line: "
                        + (progress.isEmpty() ? "none" : progress.get(progress.size() - 1)) + "\n"
                : "started and never finished (in phase, test): " + String.join(", ", unfinished.keySet()) + "\n";
        return running + found;
    }

    private static synchronized void print(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private static void fact(String phase, String when) throws IOException {
        String cgroup = Files.readString(Path.of("/proc/self/cgroup")).strip();
        print(String.join(
                "\t",
                "VMFACT",
                phase,
                when,
                "uid=" + Files.getAttribute(Path.of("/proc/self"), "unix:uid"),
                "cgroup=" + oneLine(cgroup)));
    }

    private static String oneLine(String text) {
        return text.replace('\n', ' ').replace('\t', ' ');
    }
}
