package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README's Configuration: a launcher parameter, then a system property, then {@code junit-platform.properties}; an
 * annotation that gives a value wins over all of them; a named environment variable applies only when the key is not
 * set. Each case is a child JVM started as a build tool starts one (FixtureRunner reads all three sources).
 */
@DisplayName("configuration precedence, as the README's Configuration says")
class ConfigurationPrecedenceTests {

    @Test
    @DisplayName("isolated.namespaces: launcher parameter over -D over junit-platform.properties; an annotation's own "
            + "namespaces over all of them")
    void launcherThenSystemPropertyThenProperties(@TempDir Path dir) throws IOException, InterruptedException {
        Path properties = Files.createDirectories(dir.resolve("properties"));
        Files.writeString(
                properties.resolve("junit-platform.properties"), IsolatedConfiguration.NAMESPACES + "=PID,MOUNT\n");
        List<String> classPath =
                List.of("-cp", properties + File.pathSeparator + System.getProperty("java.class.path"));

        assertThat(run(classPath, "PID,MOUNT", DefaultNamespacesFixture.class))
                .as("junit-platform.properties alone")
                .containsExactly("SUCCESSFUL\t");
        assertThat(run(
                        with(classPath, "-D" + IsolatedConfiguration.NAMESPACES + "=PID,MOUNT,UTS"),
                        "PID,MOUNT,UTS",
                        DefaultNamespacesFixture.class))
                .as("-D over junit-platform.properties")
                .containsExactly("SUCCESSFUL\t");
        assertThat(run(
                        with(classPath, "-D" + IsolatedConfiguration.NAMESPACES + "=PID,MOUNT,UTS"),
                        "PID,MOUNT,UTS,IPC",
                        DefaultNamespacesFixture.class,
                        IsolatedConfiguration.NAMESPACES + "=PID,MOUNT,UTS,IPC"))
                .as("the launcher's parameter over -D")
                .containsExactly("SUCCESSFUL\t");
        assertThat(run(
                        with(classPath, "-D" + IsolatedConfiguration.NAMESPACES + "=PID,MOUNT,UTS"),
                        "PID,MOUNT,NET",
                        OwnNamespacesFixture.class,
                        IsolatedConfiguration.NAMESPACES + "=PID,MOUNT,UTS,IPC"))
                .as("the annotation's namespaces over every source")
                .containsExactly("SUCCESSFUL\t");
    }

    @Test
    @DisplayName("ISOLATED_CACHE_DIR applies when isolated.cache.dir is not set, and -Disolated.cache.dir wins over it")
    void environmentVariableWhenTheKeyIsNotSet(@TempDir Path dir) throws IOException, InterruptedException {
        Path fromVariable = dir.resolve("from-variable");
        Path fromProperty = dir.resolve("from-property");
        List<String> classPath = List.of("-cp", System.getProperty("java.class.path"));
        List<String> prefix = List.of("env", "ISOLATED_CACHE_DIR=" + fromVariable);

        assertThat(FixtureRunner.runInChildJvm(
                        prefix,
                        with(classPath, "-Dexpected.namespaces=PID,MOUNT,UTS,IPC,NET,CGROUP"),
                        DefaultNamespacesFixture.class))
                .containsExactly("SUCCESSFUL\t");
        assertThat(fromVariable.resolve("images"))
                .as("the cache ISOLATED_CACHE_DIR names")
                .isDirectoryContaining(p -> true);

        assertThat(FixtureRunner.runInChildJvm(
                        prefix,
                        with(
                                classPath,
                                "-Dexpected.namespaces=PID,MOUNT,UTS,IPC,NET,CGROUP",
                                "-D" + IsolatedConfiguration.CACHE_DIR + "=" + fromProperty),
                        DefaultNamespacesFixture.class))
                .containsExactly("SUCCESSFUL\t");
        assertThat(fromProperty.resolve("images"))
                .as("the cache -Disolated.cache.dir names")
                .isDirectoryContaining(p -> true);
    }

    private static List<String> run(List<String> jvmOptions, String expected, Class<?> fixture, String... configuration)
            throws IOException, InterruptedException {
        return FixtureRunner.runInChildJvm(
                List.of(), with(jvmOptions, "-Dexpected.namespaces=" + expected), fixture, configuration);
    }

    private static List<String> with(List<String> options, String... more) {
        List<String> all = new ArrayList<>(options);
        all.addAll(List.of(more));
        return all;
    }

    /** The namespaces the child JVM's test expects: {@code -Dexpected.namespaces}, plus USER, which is always added. */
    static Set<LinuxNamespace> expected() {
        Set<LinuxNamespace> expected = EnumSet.of(LinuxNamespace.USER);
        for (String name : System.getProperty("expected.namespaces").split(",")) {
            expected.add(LinuxNamespace.valueOf(name));
        }
        return expected;
    }

    @Isolated(rootfs = "busybox.tar")
    static class DefaultNamespacesFixture {
        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env.namespaces()).isEqualTo(expected());
        }
    }

    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.NET})
    static class OwnNamespacesFixture {
        @Test
        void test(IsolatedEnvironment env) {
            assertThat(env.namespaces()).isEqualTo(expected());
        }
    }
}
