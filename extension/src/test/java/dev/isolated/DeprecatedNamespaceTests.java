package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Stream;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The old name Namespace, deprecated for one release, and the README's migration to LinuxNamespace. */
@DisplayName("Namespace, the deprecated old name of LinuxNamespace")
@SuppressWarnings("removal")
class DeprecatedNamespaceTests {

    @Test
    @DisplayName("has the same constants, short names and parsing as LinuxNamespace")
    void sameConstants() {
        assertThat(Stream.of(Namespace.values()).map(Namespace::name))
                .containsExactlyElementsOf(Stream.of(LinuxNamespace.values())
                        .map(LinuxNamespace::name)
                        .toList());
        for (Namespace ns : Namespace.values()) {
            assertThat(ns.linuxNamespace().name()).isEqualTo(ns.name());
            assertThat(ns.shortName()).isEqualTo(ns.linuxNamespace().shortName());
        }
        assertThat(Namespace.parse("mnt")).isEqualTo(Namespace.MOUNT);
        assertThatThrownBy(() -> Namespace.parse("bogus"))
                .hasMessage(
                        "Unknown namespace 'bogus': use one of " + "[PID, MOUNT, UTS, IPC, NET, USER, CGROUP, TIME]");
    }

    @Test
    @DisplayName("the builder and enter take it as they take LinuxNamespace")
    void builderAndEnterTakeIt() {
        try (IsolatedEnvironment env = IsolatedEnvironment.builder()
                .rootfs("busybox.tar")
                .namespaces(Namespace.PID, Namespace.MOUNT, Namespace.UTS, Namespace.IPC, Namespace.NET)
                .start()) {
            assertThat(env.namespaces())
                    .isEqualTo(EnumSet.of(
                            LinuxNamespace.PID,
                            LinuxNamespace.MOUNT,
                            LinuxNamespace.UTS,
                            LinuxNamespace.IPC,
                            LinuxNamespace.NET,
                            LinuxNamespace.USER));

            ExecResult oldName = env.enter(Namespace.PID, Namespace.MOUNT).exec("ip", "-o", "link");
            ExecResult newName =
                    env.enter(LinuxNamespace.PID, LinuxNamespace.MOUNT).exec("ip", "-o", "link");
            assertThat(oldName).succeeded();
            assertThat(oldName.stdout())
                    .as("the host's interfaces, as without NET")
                    .isEqualTo(newName.stdout())
                    .isNotEqualTo(env.exec("ip", "-o", "link").stdout());
        }
    }

    @Test
    @DisplayName(
            "the README's migration: an annotation with the old import fails to compile, the one-line change fixes it")
    void migration(@TempDir Path out) throws IOException {
        String annotated = "@Isolated(rootfs = \"busybox.tar\", namespaces = {PID, MOUNT, UTS}, hostname = \"box\")\n"
                + "class PidOneTest {}\n";
        String imports = "import dev.isolated.Isolated;\n";

        List<Diagnostic<? extends JavaFileObject>> old =
                compile(out, "import static dev.isolated.Namespace.*;\n" + imports + annotated);
        assertThat(errors(old))
                .isNotEmpty()
                .allMatch(
                        e -> e.equals(
                                "incompatible types: dev.isolated.Namespace cannot be converted to dev.isolated.LinuxNamespace"));

        assertThat(errors(compile(out, "import static dev.isolated.LinuxNamespace.*;\n" + imports + annotated)))
                .isEmpty();
    }

    @Test
    @DisplayName("old code with the builder and enter keeps compiling, with a removal warning")
    void oldBuilderCodeCompiles(@TempDir Path out) throws IOException {
        List<Diagnostic<? extends JavaFileObject>> diagnostics = compile(out, """
                import static dev.isolated.Namespace.*;
                import dev.isolated.IsolatedEnvironment;
                class PidOneTest {
                    void run() {
                        try (IsolatedEnvironment env = IsolatedEnvironment.builder().namespaces(PID, MOUNT).start()) {
                            env.enter(MOUNT).exec("true");
                            env.enter().exec("true");
                            dev.isolated.Namespace ns = dev.isolated.Namespace.parse("pid");
                        }
                    }
                }
                """);

        assertThat(errors(diagnostics)).isEmpty();
        assertThat(diagnostics)
                .anyMatch(d -> d.getKind() == Diagnostic.Kind.MANDATORY_WARNING
                        && d.getMessage(null)
                                .contains("dev.isolated.Namespace in dev.isolated has been deprecated and marked "
                                        + "for removal"));
    }

    private static List<String> errors(List<Diagnostic<? extends JavaFileObject>> diagnostics) {
        return diagnostics.stream()
                .filter(d -> d.getKind() == Diagnostic.Kind.ERROR)
                .map(d -> d.getMessage(null))
                .toList();
    }

    private static List<Diagnostic<? extends JavaFileObject>> compile(Path out, String source) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        JavaFileObject file =
                new SimpleJavaFileObject(URI.create("string:///PidOneTest.java"), JavaFileObject.Kind.SOURCE) {
                    @Override
                    public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                        return source;
                    }
                };
        List<String> options = new ArrayList<>(List.of(
                "-Xlint:removal",
                "-proc:none",
                "-d",
                out.toString(),
                "-classpath",
                System.getProperty("java.class.path")));
        javac.getTask(new StringWriter(), null, diagnostics, options, null, List.of(file))
                .call();
        return diagnostics.getDiagnostics();
    }
}
