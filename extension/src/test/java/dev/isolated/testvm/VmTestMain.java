package dev.isolated.testvm;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/**
 * Runs test classes in the test VM and prints, on stdout (the VM's serial console), one line per finished test
 * ({@code VMTEST <phase> <Class#method> <STATUS> <seconds>s <exception: message>}, tab-separated; a failure's stack trace
 * follows as {@code VMTRACE} lines), the JVM's cgroup before and after and each class's time ({@code VMFACT}).
 */
public final class VmTestMain {
    private VmTestMain() {
    }

    /** @param args the phase's name, then the test classes */
    public static void main(String[] args) throws Exception {
        String phase = args[0];
        fact(phase, "before");
        for (String name : Arrays.asList(args).subList(1, args.length)) {
            long start = System.nanoTime();
            Events events = EngineTestKit.engine("junit-jupiter").selectors(selectClass(Class.forName(name))).execute()
                    .testEvents();
            Map<String, Instant> started = events.started().stream().collect(Collectors.toMap(
                    e -> e.getTestDescriptor().getUniqueId().toString(), Event::getTimestamp));
            events.finished().stream().forEach(e -> report(phase, e, Duration.between(
                    started.getOrDefault(e.getTestDescriptor().getUniqueId().toString(), e.getTimestamp()), e.getTimestamp())));
            System.out.printf("VMFACT\t%s\t%s\ttook %.1f s%n", phase, name, (System.nanoTime() - start) / 1e9);
        }
        fact(phase, "after");
    }

    private static void report(String phase, Event event, Duration took) {
        TestExecutionResult result = event.getPayload(TestExecutionResult.class).orElseThrow();
        String test = event.getTestDescriptor().getSource().filter(MethodSource.class::isInstance)
                .map(s -> ((MethodSource) s).getJavaClass().getSimpleName() + "#" + ((MethodSource) s).getMethodName())
                .orElse(event.getTestDescriptor().getDisplayName());
        String message = result.getThrowable().map(t -> t.getClass().getSimpleName() + ": " + t.getMessage()).orElse("");
        System.out.println(String.join("\t", "VMTEST", phase, test, result.getStatus().name(),
                String.format("%.1fs", took.toMillis() / 1e3), oneLine(message)));
        if (result.getStatus() == TestExecutionResult.Status.FAILED) {
            StringWriter trace = new StringWriter();
            result.getThrowable().orElseThrow().printStackTrace(new PrintWriter(trace));
            trace.toString().lines().limit(40).forEach(line -> System.out.println("VMTRACE\t" + phase + "\t" + line));
        }
        System.out.flush();
    }

    private static void fact(String phase, String when) throws IOException {
        String cgroup = Files.readString(Path.of("/proc/self/cgroup")).strip();
        System.out.println(String.join("\t", "VMFACT", phase, when, "uid=" + Files.getAttribute(Path.of("/proc/self"), "unix:uid"), "cgroup=" + oneLine(cgroup)));
    }

    private static String oneLine(String text) {
        return text.replace('\n', ' ').replace('\t', ' ');
    }
}
