package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.fail;

import dev.isolated.IsolatedConfiguration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Where the tests find the {@code isolated-helper} that the native module built. */
final class HelperPaths {

    /**
     * The helper the tests run: the one {@code -Disolated.helper.path} names when set (.ci/run runs these tests
     * against the sanitized build, {@code native/build.sh sanitized}), else the one for this machine as
     * {@code mvn -pl native install} leaves it, seen from the extension module.
     */
    static final Path HELPER = Path.of(
                    System.getProperty(IsolatedConfiguration.HELPER_PATH, "").isBlank()
                            ? "../native/target/classes/" + HelperBinary.resourceName()
                            : System.getProperty(IsolatedConfiguration.HELPER_PATH))
            .toAbsolutePath()
            .normalize();

    private HelperPaths() {}

    /** @return the helper; fails the test, saying what to run, when it is not built */
    static Path helper() {
        if (!Files.isExecutable(HELPER)) {
            fail("the helper is not built at %s: run `mvn -pl native install -DskipTests` first", HELPER);
        }
        return HELPER;
    }

    /**
     * @param dir a directory that uid 65534 can read (a test's 0755 temp dir)
     * @return a copy of the helper in {@code dir/helper-bin} that uid 65534 can execute
     */
    static Path rootlessCopy(Path dir) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("helper-bin"));
        Path helper = bin.resolve("isolated-helper");
        if (!Files.exists(helper)) {
            Files.copy(helper(), helper, StandardCopyOption.COPY_ATTRIBUTES);
        }
        Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwxr-xr-x"));
        return helper;
    }
}
