package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.IsolatedConfiguration;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("the helper's state directory in java.io.tmpdir")
class SharedHelperStateDirTests {

    @Test
    @DisplayName("is a new isolated-run-<n> directory of mode 0700, whatever the umask")
    void privateAndNew(@TempDir Path dir) throws IOException, InterruptedException {
        Path tmpdir = Files.createDirectory(dir.resolve("tmp"));
        Path seen = dir.resolve("seen");
        Path helper = dir.resolve("isolated-helper");
        // serve --state-dir DIR: records the directory's name and mode, then fails to start
        Files.writeString(helper, "#!/bin/sh\nstat -c '%n %a %U' \"$3\" > " + seen + "\nexit 3\n");
        helper.toFile().setExecutable(true);

        String out = startOnce(helper, tmpdir, "umask 000; ");

        assertThat(out).contains("did not start");
        assertThat(Files.readString(seen))
                .matches(tmpdir + "/isolated-run-\\d+ 700 " + System.getProperty("user.name") + "\n");
        try (var left = Files.list(tmpdir)) {
            assertThat(left).as("state directories left").isEmpty();
        }
    }

    @Test
    @DisplayName("cannot be made in a missing java.io.tmpdir: the error names it")
    void missingTmpdir(@TempDir Path dir) throws IOException, InterruptedException {
        Path helper = dir.resolve("isolated-helper");
        Files.writeString(helper, "#!/bin/sh\nexit 3\n");
        helper.toFile().setExecutable(true);
        Path missing = dir.resolve("missing");

        String out = startOnce(helper, missing, "");

        assertThat(out)
                .startsWith("IsolatedException: Cannot create the helper's state directory in java.io.tmpdir ("
                        + missing + "): java.nio.file.NoSuchFileException: " + missing + "/isolated-run-");
    }

    private static String startOnce(Path helper, Path tmpdir, String shellPrefix)
            throws IOException, InterruptedException {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String command = shellPrefix + "exec '" + java + "' -Djava.io.tmpdir=" + tmpdir + " -D"
                + IsolatedConfiguration.HELPER_PATH + "=" + helper + " -cp '" + System.getProperty("java.class.path")
                + "' '" + SharedHelperStartFailureTests.StartOnce.class.getName() + "'";
        Process child = new ProcessBuilder("/bin/sh", "-c", command)
                .redirectErrorStream(true)
                .start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
