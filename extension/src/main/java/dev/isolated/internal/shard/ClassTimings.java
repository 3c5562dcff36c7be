package dev.isolated.internal.shard;

import static dev.isolated.IsolatedConfiguration.SHARD_TIMINGS;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * The recorded duration of each top-level test class, read from JUnit XML reports as Surefire writes them
 * ({@code target/surefire-reports/TEST-*.xml}: a {@code <testsuite name="com.example.FooTests" time="12.5">} root,
 * or {@code <testsuite>} elements under a {@code <testsuites>} root). The path is one report or a directory
 * (or a symbolic link to one) searched for {@code TEST-*.xml} files. A nested class's report
 * ({@code Outer$Inner}) counts for its top-level class; a suite reported more than once counts once, with its
 * longest time.
 */
final class ClassTimings {
    private static final int MAX_DEPTH = 16;

    private ClassTimings() {}

    /** The configured path, or an error naming the key when it is no path. */
    static Path path(String configured) {
        try {
            return Path.of(configured);
        } catch (InvalidPathException e) {
            throw invalid(configured, "not a path (" + e.getMessage() + ")", e);
        }
    }

    /** Seconds by top-level class name; empty for a directory that has no report yet. */
    static Map<String, Double> read(String configured) {
        Path path = path(configured);
        List<Path> reports = new ArrayList<>();
        try {
            if (Files.isDirectory(path)) {
                // A walk does not enter a start that is a symbolic link (a restored cache, a CI workspace link):
                // walk its target, and name the reports under the path as given.
                Path start = Files.isSymbolicLink(path) ? path.toRealPath() : path;
                try (Stream<Path> files = Files.walk(start, MAX_DEPTH)) {
                    files.filter(f -> f.getFileName().toString().matches("TEST-.*\\.xml") && Files.isRegularFile(f))
                            .map(f -> path.resolve(start.relativize(f)))
                            .sorted()
                            .forEach(reports::add);
                } catch (UncheckedIOException e) { // a subdirectory the walk cannot read
                    throw e.getCause();
                }
            } else if (Files.isRegularFile(path)) {
                reports.add(path);
            } else {
                throw new NoSuchFileException(configured);
            }
        } catch (IOException e) {
            throw invalid(
                    configured,
                    "cannot read it (" + e + "); point it at a directory of Surefire XML reports"
                            + " (TEST-*.xml) from an earlier run",
                    e);
        }
        Map<String, Double> bySuite = new HashMap<>();
        for (Path report : reports) {
            readReport(configured, report, bySuite);
        }
        Map<String, Double> byClass = new HashMap<>();
        bySuite.forEach((suite, seconds) -> byClass.merge(TopLevelClass.of(suite), seconds, Double::sum));
        return byClass;
    }

    private static void readReport(String configured, Path report, Map<String, Double> bySuite) {
        XMLInputFactory factory = XMLInputFactory.newFactory();
        factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
        factory.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
        try (InputStream in = Files.newInputStream(report)) {
            XMLStreamReader xml = factory.createXMLStreamReader(in);
            try {
                int depth = 0;
                String root = null;
                while (xml.hasNext()) {
                    int event = xml.next();
                    if (event == XMLStreamConstants.END_ELEMENT) {
                        depth--;
                        if (depth == 0) {
                            break;
                        }
                    } else if (event == XMLStreamConstants.START_ELEMENT) {
                        depth++;
                        String element = xml.getLocalName();
                        if (depth == 1) {
                            root = element;
                            if (!element.equals("testsuite") && !element.equals("testsuites")) {
                                throw invalid(
                                        configured,
                                        report + " is not a JUnit XML report (its root element is <" + element
                                                + ">, not <testsuite> or <testsuites>)",
                                        null);
                            }
                        }
                        if (element.equals("testsuite") && (depth == 1 || depth == 2 && root.equals("testsuites"))) {
                            suite(configured, report, xml, bySuite);
                            if (depth == 1) {
                                break;
                            }
                        }
                    }
                }
                if (root == null) {
                    throw invalid(configured, report + " is not a JUnit XML report (it has no root element)", null);
                }
            } finally {
                xml.close();
            }
        } catch (XMLStreamException e) {
            throw invalid(configured, report + " is not a JUnit XML report (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw invalid(configured, report + " cannot be read (" + e + ")", e);
        }
    }

    private static void suite(String configured, Path report, XMLStreamReader xml, Map<String, Double> bySuite) {
        String name = xml.getAttributeValue(null, "name");
        String time = xml.getAttributeValue(null, "time");
        if (name == null || name.isBlank() || time == null) {
            throw invalid(configured, report + ": a <testsuite> without a name or time attribute", null);
        }
        double seconds;
        try {
            seconds = Double.parseDouble(time.strip().replace(",", "")); // older Surefire wrote 1,234.5
        } catch (NumberFormatException e) {
            seconds = Double.NaN;
        }
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            throw invalid(
                    configured,
                    report + ": testsuite '" + name + "' has time '" + time + "', not a number of seconds",
                    null);
        }
        bySuite.merge(name.strip(), seconds, Math::max);
    }

    private static InvalidShardException invalid(String configured, String why, Throwable cause) {
        return new InvalidShardException(SHARD_TIMINGS + " '" + configured + "' is not valid: " + why, cause);
    }
}
