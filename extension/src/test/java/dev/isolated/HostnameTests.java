package dev.isolated;

import static dev.isolated.LinuxNamespace.MOUNT;
import static dev.isolated.LinuxNamespace.PID;
import static dev.isolated.LinuxNamespace.UTS;
import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("setHostname")
class HostnameTests {
    private static final String ANNOTATION_WITHOUT_UTS = "@Isolated(hostname = \"box\"): a hostname needs the UTS"
            + " namespace: add LinuxNamespace.UTS to namespaces, or drop the hostname";

    @Test
    @DisplayName("renames a running environment, even one whose image has no hostname program")
    @Isolated(
            rootfs = "hello.tar",
            namespaces = {PID, MOUNT, UTS},
            hostname = "before")
    void fromScratch(IsolatedEnvironment env) {
        env.setHostname("after");

        assertThat(env).hostname().isEqualTo("after");
    }

    @Test
    @DisplayName("is visible to commands already running and to new ones")
    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT, UTS},
            hostname = "before")
    void seenByCommands(IsolatedEnvironment env) {
        env.setHostname("after");

        assertThat(env.exec("hostname")).stdout().isEqualTo("after\n");
    }

    @Test
    @DisplayName("@Isolated without a hostname: derived from the test method's name, as its Javadoc's example says")
    @Isolated(rootfs = "busybox.tar")
    void psSeesOnlyTheEnvironment(IsolatedEnvironment env) {
        assertThat(env).hostname().isEqualTo("psseesonlytheenvironment");
        assertThat(env.exec("hostname")).stdout().isEqualTo("psseesonlytheenvironment\n");
    }

    @Test
    @DisplayName("a derived hostname is cut to 63 characters, a test name long as JUnit users write them included")
    @Isolated(rootfs = "busybox.tar")
    void should_answer_404_when_the_user_is_unknown_and_the_cache_is_cold_and_retries_are_off(IsolatedEnvironment env) {
        assertThat(env)
                .hostname()
                .isEqualTo("should-answer-404-when-the-user-is-unknown-and-the-cache-is-col")
                .hasSize(63);
    }

    @Test
    @DisplayName("a builder's environment with UTS and no hostname is named 'isolated', never the host's name")
    void builderDefaultHidesTheHostsName() throws Exception {
        String host = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            assertThat(env.exec("hostname")).stdout().isEqualTo("isolated\n");
            assertThat(env.exec("cat", "/proc/sys/kernel/hostname")).stdout().doesNotContain(host);
        }
    }

    @Test
    @DisplayName("without a UTS namespace says so instead of renaming the host")
    @Isolated(
            rootfs = "busybox.tar",
            namespaces = {PID, MOUNT})
    void withoutUts(IsolatedEnvironment env) {
        assertThatThrownBy(() -> env.setHostname("host"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no UTS namespace");
    }

    @Test
    @DisplayName(
            "@Isolated(hostname) without UTS fails the test with an ExtensionConfigurationException, as the README says")
    void annotationWithoutUts() {
        EngineRunner.run(HostnameWithoutUtsTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("test"),
                                finishedWithFailure(
                                        instanceOf(ExtensionConfigurationException.class),
                                        message(ANNOTATION_WITHOUT_UTS))));
    }

    @Test
    @DisplayName("@Isolated(hostname) without UTS fails the test even with skipIfUnsupported: no host could run it")
    void annotationWithoutUtsIsNotSkipped() {
        EngineRunner.run(HostnameWithoutUtsSkipIfUnsupportedTestCase.class)
                .testEvents()
                .assertStatistics(stats -> stats.skipped(0).failed(1))
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("test"),
                                finishedWithFailure(
                                        instanceOf(ExtensionConfigurationException.class),
                                        message(ANNOTATION_WITHOUT_UTS))));
    }

    @Test
    @DisplayName(
            "a builder's hostname without UTS is refused by start() with the setting and the fix, whatever the order")
    void builderWithoutUts() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("busybox.tar")
                        .hostname("box")
                        .namespaces(PID, MOUNT)
                        .start())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hostname \"box\" needs the UTS namespace: add LinuxNamespace.UTS to namespaces, or drop "
                        + "the hostname");
    }

    @Test
    @DisplayName("a builder's hostname without UTS is refused before the image is even looked for")
    void builderWithoutUtsBeforeTheImage() {
        assertThatThrownBy(() -> IsolatedEnvironment.builder()
                        .rootfs("no-such-image-" + System.nanoTime() + ".tar")
                        .namespaces(PID, MOUNT)
                        .hostname("box")
                        .start())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("hostname \"box\" needs the UTS namespace: add LinuxNamespace.UTS to namespaces, or drop "
                        + "the hostname");
    }

    @Test
    @DisplayName("a builder's environment without UTS and without a hostname starts, with the host's hostname")
    void builderWithoutUtsOrHostname() throws Exception {
        String host = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(PID, MOUNT)
                .start()) {
            assertThat(env.exec("hostname")).stdout().isEqualTo(host + "\n");
        }
    }

    @Test
    @DisplayName(
            "without a hostname a parameter's environment is named after the method and the parameter, a PER_CLASS "
                    + "one after the class")
    void derivedNames() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(DerivedNamesTestCase.class), 1);
        EngineRunner.assertAllSucceeded(EngineRunner.run(PerClassDerivedNameTestCase.class), 1);
    }

    @Test
    @DisplayName("a parameter's derived hostname takes the compiled parameter name: without javac -parameters, argN")
    void derivedNameWithoutParameterNames(@TempDir Path classes) throws Exception {
        String source = """
                import dev.isolated.Isolated;
                import dev.isolated.IsolatedEnvironment;
                import org.junit.jupiter.api.Test;

                @Isolated(rootfs = "busybox.tar")
                public class TalkToWithoutParameterNames {
                    @Test
                    void talkTo(IsolatedEnvironment client, @Isolated IsolatedEnvironment server) {
                        if (!server.hostname().equals("talkto-arg1")) {
                            throw new AssertionError(server.hostname());
                        }
                    }
                }
                """;
        JavaFileObject file =
                new SimpleJavaFileObject(
                        URI.create("string:///TalkToWithoutParameterNames.java"), JavaFileObject.Kind.SOURCE) {
                    @Override
                    public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                        return source;
                    }
                };
        boolean compiled = ToolProvider.getSystemJavaCompiler()
                .getTask(
                        null,
                        null,
                        null,
                        List.of(
                                "-proc:none",
                                "-d",
                                classes.toString(),
                                "-classpath",
                                System.getProperty("java.class.path")),
                        null,
                        List.of(file))
                .call();
        org.assertj.core.api.Assertions.assertThat(compiled)
                .as("compiled without -parameters")
                .isTrue();
        try (URLClassLoader loader =
                new URLClassLoader(new URL[] {classes.toUri().toURL()}, HostnameTests.class.getClassLoader())) {
            EngineRunner.assertAllSucceeded(EngineRunner.run(loader.loadClass("TalkToWithoutParameterNames")), 1);
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class DerivedNamesTestCase {
        @Test
        void talkTo(IsolatedEnvironment client, @Isolated IsolatedEnvironment server) {
            assertThat(client).hostname().isEqualTo("talkto");
            assertThat(server).hostname().isEqualTo("talkto-server");
        }
    }

    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    static class PerClassDerivedNameTestCase {
        @Test
        void someTest(IsolatedEnvironment env) {
            assertThat(env).hostname().isEqualTo("perclassderivednametestcase");
        }
    }

    static class HostnameWithoutUtsSkipIfUnsupportedTestCase {
        @Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT},
                hostname = "box",
                skipIfUnsupported = true)
        void test(IsolatedEnvironment env) {}
    }

    static class HostnameWithoutUtsTestCase {
        @Test
        @Isolated(
                rootfs = "busybox.tar",
                namespaces = {PID, MOUNT},
                hostname = "box")
        void test(IsolatedEnvironment env) {}
    }
}
