package dev.isolated.security;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.ClassSelector;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

/**
 * The child JVM of {@link SecuritySuiteAsNobodyTests}: runs every attack class ({@code *AttackTests}) of
 * {@code dev.isolated.security} and prints one line per finished test, {@code <status>\t<name>\t<message>},
 * then {@code started=N skipped=N}.
 */
public final class SecuritySuiteRunner {
    private SecuritySuiteRunner() {}

    public static void main(String[] args) throws Exception {
        Path here = Path.of(SecuritySuiteRunner.class
                        .getProtectionDomain()
                        .getCodeSource()
                        .getLocation()
                        .toURI())
                .resolve("dev/isolated/security");
        List<ClassSelector> attacks;
        try (Stream<Path> files = Files.list(here)) {
            attacks = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith("AttackTests.class"))
                    .sorted()
                    .map(n -> selectClass("dev.isolated.security." + n.substring(0, n.length() - ".class".length())))
                    .toList();
        }
        System.out.println("classes=" + attacks.size());
        Events tests = EngineTestKit.engine("junit-jupiter")
                .selectors(attacks.toArray(ClassSelector[]::new))
                .enableImplicitConfigurationParameters(true)
                .execute()
                .testEvents();
        tests.finished().stream().forEach(e -> {
            TestExecutionResult result = e.getPayload(TestExecutionResult.class).orElseThrow();
            String message = result.getThrowable()
                    .map(t -> t.getClass().getSimpleName() + ": " + t.getMessage())
                    .orElse("")
                    .replace('\n', ' ');
            String name = e.getTestDescriptor().getUniqueId().toString();
            System.out.println(result.getStatus() + "\t" + name + "\t" + message);
        });
        System.out.println("started=" + tests.started().count() + " skipped="
                + tests.skipped().count());
    }
}
