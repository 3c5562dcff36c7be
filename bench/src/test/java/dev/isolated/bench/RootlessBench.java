package dev.isolated.bench;

import dev.isolated.NobodyJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Section 10: the one-shot and exec of section 1, rootless: a child JVM run as uid 65534 ({@code setpriv}) times, in
 * one interleaved loop, {@code /bin/true} in a running environment (from its second command on, forked by the
 * environment's zygote, see {@code native/src/main/c/zygote.c}), a fresh environment with {@code /bin/true} and its
 * close, and a plain {@code ProcessBuilder("/bin/true")}: the floor of that JVM ({@link RootlessChild}).
 */
final class RootlessBench {
    static final String EXEC = "Isolated rootless: /bin/true in a running environment (exec)";
    static final String ONE_SHOT = "Isolated rootless: fresh environment + /bin/true + close (one-shot)";
    static final String FLOOR = "rootless ProcessBuilder(\"/bin/true\"), no isolation (the floor)";
    static final List<Comparison> COMPARISONS =
            List.of(new Comparison(ONE_SHOT, "rootless one-shot", FLOOR), new Comparison(EXEC, "rootless exec", FLOOR));

    private final BenchContext ctx;

    RootlessBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("isolated-bench-rootless-");
        try {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            String classpath = NobodyJvm.copyClasspathReadableByAll(dir.resolve("cp"));
            Path home = Files.createDirectories(dir.resolve("home"));
            Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
            ProcessBuilder pb = new ProcessBuilder(
                    "setpriv",
                    "--reuid=" + NobodyJvm.NOBODY,
                    "--regid=" + NobodyJvm.NOBODY,
                    "--clear-groups",
                    Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Duser.home=" + home,
                    "-Djava.io.tmpdir=" + home,
                    "-cp",
                    classpath,
                    RootlessChild.class.getName(),
                    Integer.toString(ctx.runs()));
            pb.environment().put("HOME", home.toString());
            pb.environment().put("XDG_CACHE_HOME", home.resolve(".cache").toString());
            pb.redirectError(ProcessBuilder.Redirect.INHERIT);
            Process child = pb.start();
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int code = child.waitFor();
            if (code != 0) { // e.g. no unprivileged user namespaces here: the other sections still count
                ctx.results()
                        .note("Section 10 (rootless) not measured: its child JVM, run as uid " + NobodyJvm.NOBODY
                                + " with setpriv, exited with " + code + " (its stderr is above; it needs setpriv and "
                                + "user namespaces for that uid). Output: " + out.strip());
                return;
            }
            Map<String, long[]> samples = new HashMap<>();
            out.lines().filter(l -> l.contains("\t")).forEach(line -> {
                String[] parts = line.split("\t");
                samples.put(
                        parts[0],
                        Arrays.stream(parts[1].split(" "))
                                .mapToLong(Long::parseLong)
                                .toArray());
            });
            String how = ctx.runs() + " of each, interleaved, in one JVM run as uid " + NobodyJvm.NOBODY
                    + " after a warm-up; today's defaults (a user namespace of the caller's, no cgroup)";
            Results results = ctx.results();
            results.add(Measurement.millis(
                    Section.ROOTLESS, ONE_SHOT, Kind.ISOLATED, Stats.ofNanos(samples.get("oneshot")), how));
            results.add(
                    Measurement.millis(Section.ROOTLESS, EXEC, Kind.ISOLATED, Stats.ofNanos(samples.get("exec")), how));
            results.add(Measurement.millis(
                    Section.ROOTLESS, FLOOR, Kind.ALTERNATIVE, Stats.ofNanos(samples.get("floor")), how));
        } finally {
            Trees.delete(dir);
        }
    }
}
