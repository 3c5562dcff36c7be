package dev.isolated.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A fork/exec/waitpid loop in C, compiled with gcc at bench time: times whole processes without any JVM
 * spawning cost, the way the performance anchors were taken. The loop is itself started from this JVM, so
 * its children inherit what the JVM's children inherit (limits, environment, cgroup).
 */
final class NativeTimer {
    /** Replaced in the command line by a fresh empty directory for each run (removed, untimed, after it). */
    static final String FRESH_DIR = "{DIR}";

    private static final String SOURCE = """
            #define _GNU_SOURCE
            #include <fcntl.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            #include <sys/wait.h>
            #include <time.h>
            #include <unistd.h>

            /* spawn-timer RUNS WARMUP SCRATCH|- PROGRAM ARGS...: prints one line of nanoseconds per counted run */
            static long long now(void)
            {
                struct timespec t;
                clock_gettime(CLOCK_MONOTONIC, &t);
                return t.tv_sec * 1000000000LL + t.tv_nsec;
            }

            static int run(char **argv)
            {
                pid_t pid = fork();
                if (pid == 0) {
                    int null = open("/dev/null", O_WRONLY);
                    dup2(null, 1);
                    execv(argv[0], argv);
                    _exit(127);
                }
                int status;
                if (pid < 0 || waitpid(pid, &status, 0) < 0)
                    return 126;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }

            int main(int argc, char **argv)
            {
                if (argc < 5)
                    return 2;
                int runs = atoi(argv[1]), warmup = atoi(argv[2]), n = argc - 4;
                const char *scratch = argv[3];
                char **command = argv + 4, dir[4096];
                char **args = calloc((size_t)n + 1, sizeof *args);
                for (int i = 0; i < warmup + runs; i++) {
                    memcpy(args, command, (size_t)n * sizeof *args);
                    if (strcmp(scratch, "-") != 0) {
                        snprintf(dir, sizeof dir, "%s/run-XXXXXX", scratch);
                        if (!mkdtemp(dir))
                            return 2;
                        for (int j = 0; j < n; j++)
                            if (strcmp(command[j], "{DIR}") == 0)
                                args[j] = dir;
                    }
                    long long start = now();
                    int code = run(args);
                    long long took = now() - start;
                    if (code != 0) {
                        fprintf(stderr, "%s exited with %d\\n", command[0], code);
                        return 3;
                    }
                    if (strcmp(scratch, "-") != 0) {
                        char *rm[] = { "/bin/rm", "-rf", dir, NULL };
                        run(rm);
                    }
                    if (i >= warmup)
                        printf("%lld\\n", took);
                }
                return 0;
            }
            """;

    private final Path binary;

    private NativeTimer(Path binary) {
        this.binary = binary;
    }

    /**
     * @param workDir where to put the source and the binary
     * @return the timer, or null when there is no gcc to build it
     * @throws IOException when the source cannot be written or does not compile
     * @throws InterruptedException when interrupted
     */
    static NativeTimer build(Path workDir) throws IOException, InterruptedException {
        Path gcc = Processes.find("gcc");
        if (gcc == null) {
            return null;
        }
        Path source = workDir.resolve("spawn-timer.c");
        Path binary = workDir.resolve("spawn-timer");
        Files.writeString(source, SOURCE, StandardCharsets.UTF_8);
        Processes.run(gcc.toString(), "-O2", "-Wall", "-Werror", "-o", binary.toString(), source.toString());
        return new NativeTimer(binary);
    }

    /**
     * @param runs counted runs
     * @param warmup runs not counted
     * @param scratch where fresh directories are made for {@link #FRESH_DIR}, or null when none is needed
     * @param command the command, its program as an absolute path
     * @return the statistics of the whole-process times
     * @throws IOException when the loop or a run failed
     * @throws InterruptedException when interrupted
     */
    Stats time(int runs, int warmup, Path scratch, String... command) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of(
                binary.toString(),
                Integer.toString(runs),
                Integer.toString(warmup),
                scratch == null ? "-" : scratch.toString()));
        argv.addAll(List.of(command));
        String out = Processes.run(argv.toArray(String[]::new));
        long[] nanos = out.lines().mapToLong(Long::parseLong).toArray();
        return Stats.ofNanos(nanos);
    }
}
