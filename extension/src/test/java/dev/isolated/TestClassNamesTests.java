package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * One test-class suffix: every source file under a module's {@code src/test/java} that declares a test method is
 * named {@code *Tests}, so Surefire's one include runs it and a reader finds the tests of {@code X} in
 * {@code XTests}. Abstract bases are exempt (they run through their subclasses), and so are the classes that
 * other tests run on purpose and Surefire must not: {@code *Fixture}, {@code *Fixtures} (run through
 * EngineTestKit or a child JVM) and {@code *Checks} (run inside a test VM).
 */
@DisplayName("every test class is named *Tests")
class TestClassNamesTests {
    private static final Path ROOT = Paths.get(System.getProperty("user.dir")).getParent();
    private static final Pattern TEST_METHOD = Pattern.compile(
            "^\\s*@(Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)\\b", Pattern.MULTILINE);
    private static final Pattern NAME = Pattern.compile(".*(Tests|Fixture|Fixtures|Checks)\\.java");
    private static final Pattern ABSTRACT_CLASS =
            Pattern.compile("^\\s*(public\\s+)?abstract\\s+class\\s", Pattern.MULTILINE);

    @Test
    @DisplayName("no source file with a test method has another name")
    void everyTestClassEndsInTests() throws IOException {
        List<Path> sources;
        try (Stream<Path> modules = Files.list(ROOT)) {
            sources = modules.map(m -> m.resolve("src/test/java"))
                    .filter(Files::isDirectory)
                    .flatMap(TestClassNamesTests::javaFiles)
                    .collect(Collectors.toList());
        }
        assertThat(sources).as("test sources under " + ROOT).hasSizeGreaterThan(100);
        List<String> misnamed = sources.stream()
                .filter(TestClassNamesTests::declaresTests)
                .filter(f -> !NAME.matcher(f.getFileName().toString()).matches())
                .map(f -> ROOT.relativize(f).toString())
                .sorted()
                .collect(Collectors.toList());
        assertThat(misnamed).as("test classes not named *Tests").isEmpty();
    }

    private static Stream<Path> javaFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.toString().endsWith(".java")).collect(Collectors.toList()).stream();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list " + dir, e);
        }
    }

    private static boolean declaresTests(Path file) {
        try {
            String source = Files.readString(file);
            return TEST_METHOD.matcher(source).find()
                    && !ABSTRACT_CLASS.matcher(source).find();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file, e);
        }
    }
}
