package dev.isolated.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code strace -f -T} attached to a running process (the helper and the inits it clones), for the time
 * single syscalls take. strace stops the process at each traced syscall, so the times it reports are an
 * upper bound of the kernel's own time; only the syscalls named are traced.
 */
final class SyscallTrace implements AutoCloseable {
    private final Process strace;
    private final Path log;

    private SyscallTrace(Process strace, Path log) {
        this.strace = strace;
        this.log = log;
    }

    /**
     * @param pid the process to attach to
     * @param syscalls the syscalls to trace, comma-separated
     * @param log where strace writes
     * @return the attached trace, or null when strace is missing
     * @throws IOException when strace cannot attach
     */
    static SyscallTrace attach(long pid, String syscalls, Path log) throws IOException {
        Path binary = Processes.find("strace");
        if (binary == null) {
            return null;
        }
        Process p = new ProcessBuilder(
                        binary.toString(),
                        "-f",
                        "-T",
                        "-e",
                        "trace=" + syscalls,
                        "-o",
                        log.toString(),
                        "-p",
                        Long.toString(pid))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        String line = err.readLine(); // "strace: Process N attached" once it is in place
        if (line == null || !line.contains("attached")) {
            p.destroyForcibly();
            throw new IOException("strace did not attach to " + pid + ": " + line);
        }
        Thread drain = new Thread(
                () -> {
                    try {
                        err.transferTo(java.io.Writer.nullWriter());
                    } catch (IOException e) {
                        // strace is gone
                    }
                },
                "strace-stderr");
        drain.setDaemon(true);
        drain.start();
        return new SyscallTrace(p, log);
    }

    /**
     * Detaches and returns what was traced.
     *
     * @return the log's lines
     * @throws IOException when the log cannot be read
     * @throws InterruptedException when interrupted
     */
    List<String> finish() throws IOException, InterruptedException {
        strace.destroy(); // SIGTERM: strace detaches and flushes
        if (!strace.waitFor(10, TimeUnit.SECONDS)) {
            strace.destroyForcibly();
        }
        return Files.readAllLines(log, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        if (strace.isAlive()) {
            strace.destroyForcibly();
        }
    }

    /**
     * @param line a line of {@code strace -T} output
     * @return the syscall's time in milliseconds, or NaN when the line has none
     */
    static double millis(String line) {
        int open = line.lastIndexOf('<');
        int close = line.lastIndexOf('>');
        if (open < 0 || close < open) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(line.substring(open + 1, close)) * 1000;
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
