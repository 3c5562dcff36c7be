package dev.isolated.internal.shard;

import static dev.isolated.IsolatedConfiguration.SHARD;
import static dev.isolated.IsolatedConfiguration.SHARD_TIMINGS;
import static dev.isolated.IsolatedConfiguration.SHARD_TOTAL;
import static dev.isolated.internal.shard.ShardDiscovery.FIXTURES;
import static dev.isolated.internal.shard.ShardDiscovery.tests;
import static dev.isolated.internal.shard.ShardDiscovery.topLevel;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.NobodyJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The shard filter as users meet it: the JUnit Platform launcher loads it from the extension's
 * {@code META-INF/services}, and {@code isolated.shard}, {@code isolated.shard.total} with
 * {@code JOB_COMPLETION_INDEX}, or GitLab's {@code CI_NODE_INDEX}/{@code CI_NODE_TOTAL} pick the share of the
 * fixture suite ({@code dev.isolated.internal.shard.fixtures}) that is discovered and run.
 */
@DisplayName("splitting a suite into shards")
class ShardFilterTests {
    /** The fixture suite, written out: what no sharding (and shard 1/1) keeps. */
    private static final SortedSet<String> WHOLE_SUITE = new TreeSet<>(List.of(
            "Alpha#one",
            "Alpha#two",
            "Bravo#one",
            "Charlie#one",
            "Delta#one",
            "Echo#one",
            "Foxtrot#one",
            "Golf#one",
            "Hotel#one",
            "Outer#outside",
            "Outer$Inner#inside"));

    @TempDir
    Path temp;

    @Test
    @DisplayName("shard 1/1 keeps the whole suite")
    void oneShardIsTheWholeSuite() {
        assertThat(tests(Map.of(SHARD, "1/1"))).isEqualTo(WHOLE_SUITE);
    }

    @ParameterizedTest(name = "N = {0}")
    @ValueSource(ints = {1, 2, 3, 8})
    @DisplayName("the N shards are disjoint, together are the whole suite, and keep nested classes with their class")
    void shardsPartitionTheSuite(int n) {
        assertPartition(n, shards(n, Map.of()));
    }

    @ParameterizedTest(name = "N = {0}")
    @ValueSource(ints = {1, 2, 3, 8})
    @DisplayName("with timings that name only some classes, the N shards still partition the suite")
    void shardsWithTimingsPartitionTheSuite(int n) throws IOException {
        Path reports = Files.createDirectories(temp.resolve("reports"));
        report(reports, "Alpha", "30.0");
        report(reports, "Bravo", "12.5");
        report(reports, "Outer$Inner", "4");
        report(reports, "Gone", "50"); // a class deleted since: it takes time but matches nothing
        assertPartition(n, shards(n, Map.of(SHARD_TIMINGS, reports.toString())));
    }

    @Test
    @DisplayName("without timings, no shard of 2 or 3 holds every class (the split is real)")
    void hashSpreadsClasses() {
        for (int n : new int[] {2, 3}) {
            assertThat(shards(n, Map.of()))
                    .as("shards of %d", n)
                    .allSatisfy(shard -> assertThat(shard).isNotEqualTo(WHOLE_SUITE));
        }
    }

    @Test
    @DisplayName("running each shard runs exactly the tests that shard discovers, and all of them together run once")
    void runningShardsRunsEachTestOnce() {
        long ran = 0;
        for (int i = 1; i <= 3; i++) {
            Map<String, String> configuration = Map.of(SHARD, i + "/3");
            long succeeded = ShardDiscovery.run(configuration);
            assertThat(succeeded)
                    .as("tests run in shard %d/3", i)
                    .isEqualTo(tests(configuration).size());
            ran += succeeded;
        }
        assertThat(ran).isEqualTo(WHOLE_SUITE.size());
    }

    @Test
    @DisplayName("a shard keeps the same tests in every discovery and in another JVM")
    void deterministic() throws Exception {
        SortedSet<String> first = tests(Map.of(SHARD, "2/3"));
        assertThat(tests(Map.of(SHARD, "2/3"))).isEqualTo(first);
        assertThat(childJvm(Map.of(), "-D" + SHARD + "=2/3"))
                .as("in a JVM given it as a system property")
                .isEqualTo(first);
    }

    @Test
    @DisplayName("a filter used without the launcher's discovery listener reads isolated.shard from system properties")
    void withoutLauncher() throws Exception {
        assertThat(childJvm(Map.of(), "-D" + SHARD + "=2/3", "--engine-test-kit"))
                .isEqualTo(tests(Map.of(SHARD, "2/3")));
    }

    @Test
    @DisplayName("with nothing configured (no key, no CI variable) the whole suite runs")
    void nothingConfigured() throws Exception {
        assertThat(childJvm(Map.of())).isEqualTo(WHOLE_SUITE);
    }

    @Test
    @DisplayName("GitLab's parallel: CI_NODE_INDEX (from 1) and CI_NODE_TOTAL pick the shard")
    void gitlabParallel() throws Exception {
        Map<String, String> gitlab = Map.of("CI_NODE_INDEX", "2", "CI_NODE_TOTAL", "3", "CI_JOB_NAME", "test 2/3");
        assertThat(childJvm(gitlab)).isEqualTo(tests(Map.of(SHARD, "2/3")));
        // matrix jobs and isolated.shard=1/1: ShardResolverTests
    }

    @Test
    @DisplayName("a Kubernetes indexed Job's JOB_COMPLETION_INDEX (from 0) with isolated.shard.total picks the shard")
    void kubernetesIndexedJob() throws Exception {
        assertThat(childJvm(Map.of("JOB_COMPLETION_INDEX", "1"), SHARD_TOTAL + "=3"))
                .isEqualTo(tests(Map.of(SHARD, "2/3")));
        // out of range, without a total: ShardResolverTests
    }

    @ParameterizedTest(name = "isolated.shard=''{0}''")
    @ValueSource(strings = {"9/8", "0/8", "2of8", "2/", "/8", "-1/8", "1/0", "2/8/1"})
    @DisplayName("an isolated.shard that is not INDEX/TOTAL fails discovery with a message naming the key and the fix")
    void invalidShard(String value) {
        assertThatThrownBy(() -> tests(Map.of(SHARD, value)))
                .isInstanceOf(InvalidShardException.class)
                .hasMessage("isolated.shard '" + value + "' is not valid: expected INDEX/TOTAL with 1 <= INDEX <= TOTAL"
                        + " (shards are numbered from 1), e.g. -Disolated.shard=2/8");
    }

    @Test
    @DisplayName("timings from Surefire reports put the one long class alone on its shard")
    void longClassAlone() throws IOException {
        Path reports = Files.createDirectories(temp.resolve("surefire-reports"));
        report(reports, "Alpha", "100.0");
        for (String cls : List.of("Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "Outer")) {
            report(reports, cls, "1.5");
        }
        report(reports, "Outer$Inner", "0.5");
        Files.writeString(reports.resolve("dev.isolated.internal.shard.fixtures.Alpha.txt"), "Surefire's text summary");
        String timings = reports.toString();
        for (int n : new int[] {2, 3}) {
            List<SortedSet<String>> shards = shards(n, Map.of(SHARD_TIMINGS, timings));
            assertThat(shards.get(0)).as("shard 1/%d", n).containsExactly("Alpha#one", "Alpha#two");
            assertPartition(n, shards);
        }
        // 8 short classes over shards 2 and 3, 4 each (equal times; ties go to the lower shard)
        List<SortedSet<String>> three = shards(3, Map.of(SHARD_TIMINGS, timings));
        assertThat(classes(three.get(1))).hasSize(4);
        assertThat(classes(three.get(2))).hasSize(4);
    }

    @Test
    @DisplayName("timings can be one report, and a <testsuites> file; a nested class's time counts for its class")
    void oneReportFile() throws IOException {
        Path file = temp.resolve("all.xml");
        Files.writeString(
                file,
                "<testsuites>\n"
                        + "  <testsuite name=\"" + FIXTURES
                        + ".Bravo\" time=\"10\"><testcase name=\"one\"/></testsuite>\n"
                        + "  <testsuite name=\"" + FIXTURES + ".Outer\" time=\"5\"/>\n"
                        + "  <testsuite name=\"" + FIXTURES + ".Outer$Inner\" time=\"20\"/>\n"
                        + "</testsuites>\n",
                StandardCharsets.UTF_8);
        List<SortedSet<String>> shards = shards(2, Map.of(SHARD_TIMINGS, file.toString()));
        // Outer (5 + 20 s) is dealt before Bravo (10 s), so it takes shard 1 and Bravo shard 2; classes without a
        // time go by hash
        assertThat(shards.get(0))
                .contains("Outer#outside", "Outer$Inner#inside")
                .doesNotContain("Bravo#one");
        assertThat(shards.get(1)).contains("Bravo#one");
    }

    @Test
    @DisplayName("timings that cannot be read fail discovery with a message naming isolated.shard.timings and the file")
    void invalidTimings() throws IOException {
        Path missing = temp.resolve("no-such-dir");
        assertThatThrownBy(() -> tests(Map.of(SHARD, "1/2", SHARD_TIMINGS, missing.toString())))
                .isInstanceOf(InvalidShardException.class)
                .hasMessage("isolated.shard.timings '" + missing + "' is not valid: cannot read it"
                        + " (java.nio.file.NoSuchFileException: " + missing
                        + "); point it at a directory of Surefire XML"
                        + " reports (TEST-*.xml) from an earlier run");

        Path notReport = Files.createDirectories(temp.resolve("pom")).resolve("TEST-pom.xml");
        Files.writeString(notReport, "<project><modelVersion>4.0.0</modelVersion></project>");
        assertThatThrownBy(() -> tests(Map.of(
                        SHARD, "1/2", SHARD_TIMINGS, notReport.getParent().toString())))
                .hasMessage(
                        "isolated.shard.timings '" + notReport.getParent() + "' is not valid: " + notReport
                                + " is not a JUnit XML report (its root element is <project>, not <testsuite> or <testsuites>)");

        Path badTime = Files.createDirectories(temp.resolve("bad")).resolve("TEST-x.xml");
        Files.writeString(badTime, "<testsuite name=\"x.Y\" time=\"soon\"/>");
        assertThatThrownBy(() -> tests(Map.of(SHARD, "1/2", SHARD_TIMINGS, badTime.toString())))
                .hasMessage("isolated.shard.timings '" + badTime + "' is not valid: " + badTime
                        + ": testsuite 'x.Y' has time 'soon', not a number of seconds");

        assertThatThrownBy(() -> tests(Map.of(SHARD, "1/2", SHARD_TIMINGS, "reports\0")))
                .isInstanceOf(InvalidShardException.class)
                .hasMessageStartingWith("isolated.shard.timings 'reports\0' is not valid: not a path (");

        Path entity = Files.createDirectories(temp.resolve("entity")).resolve("TEST-e.xml");
        Files.writeString(
                entity, "<!DOCTYPE t [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><testsuite name=\"&x;\" time=\"1\"/>");
        assertThatThrownBy(() -> tests(Map.of(SHARD, "1/2", SHARD_TIMINGS, entity.toString())))
                .as("no DTD, no external entity")
                .isInstanceOf(InvalidShardException.class)
                .hasMessageStartingWith("isolated.shard.timings '" + entity + "' is not valid: " + entity
                        + " is not a JUnit XML report (");
    }

    @Test
    @DisplayName("an empty directory of timings (a first run) splits by class name, as without timings")
    void emptyTimings() throws IOException {
        Path empty = Files.createDirectories(temp.resolve("empty"));
        assertThat(tests(Map.of(SHARD, "2/3", SHARD_TIMINGS, empty.toString()))).isEqualTo(tests(Map.of(SHARD, "2/3")));
    }

    @Test
    @DisplayName("a class reported twice (two reports merged into one directory) counts once, with its longest time")
    void classReportedTwice() throws IOException {
        Path reports = temp.resolve("merged");
        report(Files.createDirectories(reports.resolve("a")), "Bravo", "3");
        report(Files.createDirectories(reports.resolve("b")), "Bravo", "10");
        report(reports.resolve("b"), "Charlie", "12");
        report(reports.resolve("b"), "Delta", "11");
        report(reports.resolve("b"), "Echo", "9");
        // Bravo at 10 s: Charlie (12) and Echo go to shard 1, Delta (11) and Bravo to shard 2. Counted at 3 s
        // (the first report) Bravo would join Charlie; at 13 s (both) it would take shard 1 alone before Charlie.
        List<SortedSet<String>> shards = shards(2, Map.of(SHARD_TIMINGS, reports.toString()));

        assertThat(shards.get(0)).contains("Charlie#one", "Echo#one").doesNotContain("Bravo#one", "Delta#one");
        assertThat(shards.get(1)).contains("Bravo#one", "Delta#one");
    }

    @Test
    @DisplayName(
            "timings with a subdirectory or report the tests' user cannot read fail discovery naming isolated.shard.timings and it")
    void unreadableTimings() throws Exception {
        Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path reports = Files.createDirectories(temp.resolve("reports"));
        report(reports, "Alpha", "10");
        Path closed = Files.createDirectories(reports.resolve("closed"));
        Files.setPosixFilePermissions(closed, PosixFilePermissions.fromString("rwx------"));
        String classPath = NobodyJvm.copyClasspathReadableByAll(temp.resolve("cp"));

        SortedSet<String> asNobody = childJvm(
                List.of("setpriv", "--reuid=" + NobodyJvm.NOBODY, "--regid=" + NobodyJvm.NOBODY, "--clear-groups"),
                classPath,
                Map.of(),
                SHARD + "=1/2",
                SHARD_TIMINGS + "=" + reports);

        assertThat(asNobody)
                .containsExactly("ERROR isolated.shard.timings '" + reports + "' is not valid: cannot read it"
                        + " (java.nio.file.AccessDeniedException: " + closed + "); point it at a directory of Surefire"
                        + " XML reports (TEST-*.xml) from an earlier run");

        Path unreadable = Files.createDirectories(temp.resolve("unreadable"));
        report(unreadable, "Alpha", "10");
        Path report = unreadable.resolve("TEST-" + FIXTURES + ".Alpha.xml");
        Files.setPosixFilePermissions(report, PosixFilePermissions.fromString("rw-------"));
        assertThat(childJvm(
                        List.of(
                                "setpriv",
                                "--reuid=" + NobodyJvm.NOBODY,
                                "--regid=" + NobodyJvm.NOBODY,
                                "--clear-groups"),
                        classPath,
                        Map.of(),
                        SHARD + "=1/2",
                        SHARD_TIMINGS + "=" + unreadable))
                .as("a report it cannot read is not called 'not a JUnit XML report'")
                .containsExactly("ERROR isolated.shard.timings '" + unreadable + "' is not valid: " + report
                        + " cannot be read (java.nio.file.AccessDeniedException: " + report + ")");
    }

    @Test
    @DisplayName(
            "timings given as a symbolic link to a directory (a restored cache) are read, in its subdirectories too")
    void symlinkedTimingsDirectory() throws IOException {
        Path reports = Files.createDirectories(temp.resolve("all-reports/extension/target/surefire-reports"));
        report(reports, "Alpha", "100.0");
        for (String cls : List.of("Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "Outer")) {
            report(reports, cls, "1.5");
        }
        Path link = Files.createSymbolicLink(temp.resolve("timings"), temp.resolve("all-reports"));

        assertThat(tests(Map.of(SHARD, "1/3", SHARD_TIMINGS, link.toString())))
                .as("the one long class alone on shard 1, as with the directory itself")
                .containsExactly("Alpha#one", "Alpha#two")
                .isEqualTo(tests(Map.of(
                        SHARD, "1/3", SHARD_TIMINGS, temp.resolve("all-reports").toString())));

        Files.writeString(reports.resolve("TEST-x.xml"), "<testsuite name=\"x.Y\" time=\"soon\"/>");
        Path another = Files.createSymbolicLink(temp.resolve("timings2"), temp.resolve("all-reports")); // unread yet
        Path badTime = another.resolve("extension/target/surefire-reports/TEST-x.xml");
        assertThatThrownBy(() -> tests(Map.of(SHARD, "1/2", SHARD_TIMINGS, another.toString())))
                .as("a bad report is named under the path as given")
                .hasMessage("isolated.shard.timings '" + another + "' is not valid: " + badTime
                        + ": testsuite 'x.Y' has time 'soon', not a number of seconds");
    }

    private static List<SortedSet<String>> shards(int n, Map<String, String> configuration) {
        List<SortedSet<String>> shards = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            Map<String, String> withShard = new HashMap<>(configuration);
            withShard.put(SHARD, i + "/" + n);
            shards.add(tests(withShard));
        }
        return shards;
    }

    private static void assertPartition(int n, List<SortedSet<String>> shards) {
        assertThat(shards).hasSize(n);
        Set<String> union = new TreeSet<>();
        Map<String, Integer> shardOfClass = new HashMap<>();
        for (int i = 0; i < n; i++) {
            for (String test : shards.get(i)) {
                assertThat(union.add(test))
                        .as("%s is in more than one shard of %d", test, n)
                        .isTrue();
                Integer earlier = shardOfClass.putIfAbsent(topLevel(test), i + 1);
                assertThat(earlier == null || earlier == i + 1)
                        .as("%s is in shard %d, its class in shard %d", test, i + 1, earlier)
                        .isTrue();
            }
        }
        assertThat(union).as("the union of %d shards", n).isEqualTo(WHOLE_SUITE);
    }

    private static Set<String> classes(Set<String> tests) {
        return tests.stream().map(ShardDiscovery::topLevel).collect(Collectors.toCollection(HashSet::new));
    }

    /** A report as Surefire writes it, named and shaped as in {@code target/surefire-reports}. */
    private static void report(Path dir, String simpleName, String seconds) throws IOException {
        String name = FIXTURES + "." + simpleName;
        Files.writeString(dir.resolve("TEST-" + name + ".xml"), """
                <?xml version="1.0" encoding="UTF-8"?>
                <testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
                xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-test-report.xsd" \
                version="3.0.2" name="%1$s" time="%2$s" tests="1" errors="0" skipped="0" failures="0">
                  <properties>
                    <property name="java.specification.version" value="17"/>
                  </properties>
                  <testcase name="one" classname="%1$s" time="%2$s"/>
                </testsuite>
                """.formatted(name, seconds), StandardCharsets.UTF_8);
    }

    /**
     * The tests a child JVM keeps, with no CI variable of this JVM's environment but {@code environment}; an
     * argument {@code -Dkey=value} is a system property, {@code key=value} a launcher configuration parameter.
     */
    private static SortedSet<String> childJvm(Map<String, String> environment, String... arguments) throws Exception {
        return childJvm(List.of(), System.getProperty("java.class.path"), environment, arguments);
    }

    /** {@link #childJvm(Map, String...)} started by {@code launcher} (e.g. setpriv) with class path {@code cp}. */
    private static SortedSet<String> childJvm(
            List<String> launcher, String cp, Map<String, String> environment, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(launcher);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> parameters = new ArrayList<>();
        for (String argument : arguments) {
            (argument.startsWith("-D") ? command : parameters).add(argument);
        }
        command.addAll(List.of("-cp", cp, ShardListingMain.class.getName()));
        command.addAll(parameters);
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.environment()
                .keySet()
                .removeAll(List.of("CI_NODE_INDEX", "CI_NODE_TOTAL", "CI_JOB_NAME", "JOB_COMPLETION_INDEX"));
        pb.environment().putAll(environment);
        Process child = pb.start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor()).as("the child JVM's exit code").isZero();
        return new TreeSet<>(out.lines().toList());
    }
}
