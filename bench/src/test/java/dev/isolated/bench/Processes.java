package dev.isolated.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Spawning commands from this JVM the plain way, as a user would without Isolated. */
final class Processes {
    private Processes() {}

    /**
     * Runs a command to its end, reading its output, and insists on exit code 0.
     *
     * @param command the command line
     * @return its standard output (with standard error merged)
     * @throws IOException when it cannot be started or failed
     * @throws InterruptedException when interrupted while waiting
     */
    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        if (code != 0) {
            throw new IOException(Arrays.toString(command) + " exited with " + code + ": " + output.strip());
        }
        return output;
    }

    /**
     * @param command the command line
     * @return its output, or empty when it cannot be run or fails
     */
    static String outputOrEmpty(String... command) {
        try {
            return run(command).strip();
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /**
     * @param program a program name
     * @return its path on the usual bin directories, or null when none has it
     */
    static Path find(String program) {
        for (String dir : List.of("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
