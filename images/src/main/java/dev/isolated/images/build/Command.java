package dev.isolated.images.build;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a host tool to completion and returns what it printed (stdout and stderr together).
 */
final class Command {

    private static final long TIMEOUT_SECONDS = 120;

    private Command() {}

    /**
     * @param command the program and its arguments
     * @param directory the working directory
     * @param hint appended to the message when the command fails: how to fix it
     * @return the combined output
     * @throws ImageBuildException if the command cannot start, fails or takes too long
     */
    static String run(List<String> command, Path directory, String hint) {
        String shown = String.join(" ", command);
        ProcessBuilder builder =
                new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true);
        try {
            Process process = builder.start();
            process.getOutputStream().close();
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            process.getInputStream().transferTo(output);
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new ImageBuildException("'" + shown + "' did not finish within " + TIMEOUT_SECONDS + " seconds");
            }
            String text = output.toString(StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new ImageBuildException(
                        "'" + shown + "' exited with " + process.exitValue() + ":\n" + text + "\n" + hint);
            }
            return text;
        } catch (IOException e) {
            throw new ImageBuildException("Cannot run '" + shown + "': " + e.getMessage() + ". " + hint, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageBuildException("Interrupted while running '" + shown + "'", e);
        }
    }
}
