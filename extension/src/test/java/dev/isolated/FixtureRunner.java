package dev.isolated;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * A child JVM for {@link HostCannotTests}, {@link RootlessTests} and others: runs a fixture class through the engine and prints one
 * line per finished test: {@code <status>\t<message of its throwable>}. Like a build tool's launcher, it reads configuration
 * parameters from its arguments ({@code key=value}), system properties and {@code junit-platform.properties}.
 */
public final class FixtureRunner {
    private FixtureRunner() {}

    public static void main(String[] args) throws ClassNotFoundException {
        Class<?> fixture = Class.forName(args[0]);
        Map<String, String> configuration = configuration(args);
        EngineTestKit.engine("junit-jupiter")
                .selectors(selectClass(fixture))
                .configurationParameters(configuration)
                .enableImplicitConfigurationParameters(true)
                .execute()
                .testEvents()
                .finished()
                .stream()
                .forEach(e -> {
                    var result = e.getPayload(org.junit.platform.engine.TestExecutionResult.class)
                            .orElseThrow();
                    String message = result.getThrowable()
                            .map(t -> t.getClass().getSimpleName() + ": " + t.getMessage())
                            .orElse("")
                            .replace('\n', ' ');
                    System.out.println(result.getStatus() + "\t" + message);
                });
    }

    /**
     * Runs {@code fixture} in a child JVM with this JVM's class path, started through {@code prefix} (e.g. {@code
     * unshare --mount}; empty for none), and checks that it exited with 0; its stderr goes to this JVM's.
     *
     * @param jvmOptions options of the child JVM, e.g. {@code -Dkey=value}; a {@code -cp} among them replaces this
     *     JVM's class path
     * @param configuration configuration parameters of the run, {@code key=value} each
     * @return the lines it printed, one per finished test
     */
    static List<String> runInChildJvm(
            List<String> prefix, List<String> jvmOptions, Class<?> fixture, String... configuration)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(prefix);
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        if (!jvmOptions.contains("-cp")) {
            command.addAll(List.of("-cp", System.getProperty("java.class.path")));
        }
        command.add(FixtureRunner.class.getName());
        command.add(fixture.getName());
        command.addAll(List.of(configuration));
        Process child = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        List<String> lines = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8)
                .lines()
                .toList();
        int status = child.waitFor();
        if (status != 0) {
            throw new AssertionError("the child JVM " + command + " exited with " + status + "; it printed " + lines);
        }
        return lines;
    }

    /** @return the configuration parameters of {@code args} after the first ({@code key=value} each) */
    static Map<String, String> configuration(String[] args) {
        Map<String, String> configuration = new HashMap<>();
        for (String kv : Arrays.asList(args).subList(1, args.length)) {
            configuration.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        return configuration;
    }
}
