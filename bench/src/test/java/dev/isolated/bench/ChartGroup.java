package dev.isolated.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * A titled group of bars.
 *
 * @param title the group's heading
 * @param rows its bars
 */
record ChartGroup(String title, List<ChartRow> rows) {

    /**
     * @param results the results
     * @return the groups the chart shows: per command, per test, the image; only what was measured or quoted
     */
    static List<ChartGroup> of(Results results) {
        List<ChartGroup> groups = new ArrayList<>();
        groups.add(group(
                results,
                "One isolated /bin/true, spawned from a warm JVM",
                SpawnBench.ONE_SHOT,
                "Isolated: fresh environment + command",
                SpawnBench.EXEC,
                "Isolated: command in a running environment",
                SpawnBench.CREATE_CLOSE,
                "Isolated: create + close, no command",
                Alternatives.FLOOR,
                "ProcessBuilder, no isolation (floor)",
                Alternatives.UNSHARE,
                "unshare -pfmuin --mount-proc + chroot",
                Alternatives.BWRAP,
                "bubblewrap --unshare-all",
                Anchors.TC_EXEC,
                "Testcontainers exec (anchor, not measured)",
                Anchors.TC_ONE_SHOT,
                "Testcontainers start+exec+stop (anchor)"));
        groups.add(group(
                results,
                "What the hardened defaults cost (issue 11), measured side by side",
                HardeningBench.ONE_SHOT_A,
                "(a) one-shot, today's defaults",
                HardeningBench.ONE_SHOT_B,
                "(b) one-shot, seccomp UNCONFINED",
                HardeningBench.ONE_SHOT_C,
                "(c) one-shot, without NET and CGROUP",
                HardeningBench.ONE_SHOT_D,
                "(d) one-shot, previous defaults (+USER)",
                HardeningBench.EXEC_DEFAULT,
                "exec, seccomp DEFAULT",
                HardeningBench.EXEC_UNCONFINED,
                "exec, seccomp UNCONFINED"));
        groups.add(group(
                results,
                "One test: fresh environment + 2 commands, through the JUnit Platform",
                SuiteBench.ISOLATED_PER_TEST,
                "Isolated @Isolated test",
                SuiteBench.PLAIN_PER_TEST,
                "plain ProcessBuilder test, no isolation",
                Anchors.TC_FRESH,
                "Testcontainers test (anchor, not measured)"));
        groups.add(group(
                results,
                "The image (busybox, 2 MB, 290 entries)",
                ImageBench.FIRST_UNPACK,
                "Isolated: first unpack, to disk (ext4)",
                ImageBench.TAR_JVM,
                "tar -xf from the JVM, to disk",
                ImageBench.TAR_C,
                "tar -xf from a C loop, to disk",
                ImageBench.UNPACK_TMPFS,
                "Isolated: first unpack, to tmpfs",
                ImageBench.TAR_C_TMPFS,
                "tar -xf from a C loop, to tmpfs",
                ImageBench.CACHED,
                "Isolated: cached start",
                CowViewBench.COW_VIEW,
                "Isolated: copy-on-write view per env"));
        groups.add(group(
                results,
                "Images by name: Debian + redis from a registry on 127.0.0.1",
                PullBench.ISOLATED_FIRST,
                "Isolated: first pull + unpack",
                PullBench.PODMAN_FIRST,
                "podman pull, empty storage",
                PullBench.ISOLATED_SECOND,
                "Isolated: + postgresql image, base stored",
                PullBench.PODMAN_SECOND,
                "podman pull of it, base stored"));
        return groups;
    }

    private static ChartGroup group(Results results, String title, String... namesAndLabels) {
        List<ChartRow> rows = new ArrayList<>();
        for (int i = 0; i < namesAndLabels.length; i += 2) {
            String label = namesAndLabels[i + 1];
            results.find(namesAndLabels[i]).ifPresent(m -> rows.add(new ChartRow(label, m)));
        }
        return new ChartGroup(title, rows);
    }
}
