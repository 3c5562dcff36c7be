package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.testvm.TestVm;
import dev.isolated.testvm.VmTestMain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cgroup v2 code path, on a real cgroup v2 Linux: this host may be v1, so {@link TestVm} boots one (qemu, TCG)
 * on the host's root file system and runs the limits tests there in three phases: as root, as uid 65534 in a
 * cgroup delegated to it (owned by it, as systemd's {@code Delegate=yes} makes it), and as uid 65534 without
 * delegation, where a limit must fail the test with the hint to delegate. Needs what {@code .ci/install-deps}
 * installs (qemu-system-x86, the test VM's kernel).
 *
 * <p>A test in the VM still running after {@link VmTestMain#HUNG} ends the VM at once: this test then fails naming
 * it, with the guest's thread stacks and processes and the kernel's OOM lines ({@link VmTestMain#diagnosis}); a VM
 * that goes silent until {@link #TIMEOUT} fails with the same diagnosis of its serial log.
 */
@DisplayName("cgroup v2 (in a VM)")
class CgroupV2HostTests {
    private static final Duration TIMEOUT =
            Duration.ofSeconds(300); // 60 to 80 s on a quiet 2-core host, 4x that under load
    private static final List<String> LIMIT_TESTS = List.of(
            ResourceLimitTests.class.getName(),
            "dev.isolated.internal.helper.HelperCgroupsTests",
            "dev.isolated.internal.helper.CgroupV2Checks");
    private static final String NOBODY = NobodyJvm.NOBODY;
    /** The tests of ResourceLimitTests whose @Limits makes a cgroup: any but one with only rlimits. */
    private static final List<String> WITH_LIMITS = Arrays.stream(ResourceLimitTests.class.getDeclaredMethods())
            .filter(m -> m.isAnnotationPresent(Limits.class) && needsCgroup(m.getAnnotation(Limits.class)))
            .map(m -> "ResourceLimitTests#" + m.getName())
            .toList();

    /** ResourceLimitTests' tests that ask the builder for cgroup limits: they fail undelegated, without the skip hint. */
    private static final List<String> BUILDER_LIMITS =
            List.of("ResourceLimitTests#cgroupFiles", "ResourceLimitTests#resourceUsageControllers");

    private static boolean needsCgroup(Limits l) {
        return l.memoryBytes() > 0
                || l.pids() > 0
                || l.cpuPercent() > 0
                || l.openFiles() == 0 && l.fileSizeBytes() == 0 && l.cpuSeconds() == 0;
    }

    @Test
    @DisplayName("limits, OOM kills, resource usage and enter work as root and as a delegated non-root user; "
            + "undelegated, a limit fails with the hint")
    void limitsOnCgroupV2(@TempDir Path dir) throws Exception {
        Path share = Files.createDirectories(dir.resolve("share"));
        Files.setPosixFilePermissions(share, PosixFilePermissions.fromString("rwxr-xr-x"));
        String classpath = NobodyJvm.copyClasspathReadableByAll(share.resolve("cp"));
        Files.writeString(share.resolve("vm-run.sh"), script(classpath));

        long start = System.nanoTime();
        Path project = Paths.get(System.getProperty("user.dir")).getParent();
        String serial = TestVm.run(share, project, Files.createDirectories(dir.resolve("work")), TIMEOUT);
        System.out.printf("cgroup v2 VM: %.1f s%n", (System.nanoTime() - start) / 1e9);
        serial.lines().filter(l -> l.matches("(VMFACT|VMPHASE|VMTEST)\t.*")).forEach(System.out::println);

        String log = "\n--- serial log, last 80 lines ---\n" + TestVm.tail(serial, 80);
        assertThat(serial)
                .as(
                        "a test in the VM hung (no end after %s); where it stopped:%n%s%s",
                        VmTestMain.HUNG, VmTestMain.diagnosis(serial), log)
                .doesNotContain("VMHUNG\t");
        assertThat(serial)
                .as("the VM's cgroup2 root" + log)
                .contains("VMFACT\tvm\tcontrollers\t")
                .containsPattern("VMFACT\tvm\tcontrollers\t.*\\bmemory\\b")
                .contains(TestVm.SCRIPT_EXIT + "0");
        for (String phase : List.of("root", "delegated")) {
            Map<String, String> results = results(serial, phase);
            assertThat(results)
                    .as(phase + ": every limits test, run by VmTestMain" + traces(serial, phase) + log)
                    .hasSize(expectedTests())
                    .allSatisfy((test, status) -> assertThat(status).startsWith("SUCCESSFUL"));
            assertThat(serial).as(phase + log).contains("VMPHASE\t" + phase + "\t0\t");
        }
        assertThat(serial)
                .as("the JVMs moved into the leaf that let the helper enable controllers" + log)
                .contains("VMFACT\troot\tafter\tuid=0\tcgroup=0::/session.scope/isolated-leaf\n")
                .contains("VMFACT\tdelegated\tafter\tuid=" + NOBODY + "\tcgroup=0::/deleg/isolated-leaf\n");
        Map<String, String> undelegated = results(serial, "undelegated");
        assertThat(undelegated)
                .as("undelegated" + traces(serial, "undelegated") + log)
                .hasSize(tests(ResourceLimitTests.class))
                .allSatisfy((test, status) -> {
                    if (WITH_LIMITS.contains(test)) {
                        assertThat(status)
                                .startsWith("FAILED")
                                .contains("stage 'cgroup'")
                                .contains("Delegate=yes")
                                .contains("isolated.skipIfUnsupported=true");
                    } else if (BUILDER_LIMITS.contains(test)) {
                        assertThat(status)
                                .startsWith("FAILED")
                                .contains("stage 'cgroup'")
                                .contains("Delegate=yes");
                    } else {
                        assertThat(status).startsWith("SUCCESSFUL");
                    }
                });
    }

    /** The script the VM runs as root: one JVM per phase, each in its cgroup, as its user. */
    private static String script(String classpath) {
        String java = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        String classes = String.join(" ", LIMIT_TESTS);
        return """
                set -u
                export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                cd '%1$s'
                G=/sys/fs/cgroup
                printf 'VMFACT\\tvm\\tcontrollers\\t%%s\\n' "$(cat $G/cgroup.controllers)"
                echo '+memory +pids +cpu' > $G/cgroup.subtree_control
                phase() {  # NAME CGROUP UID CLASS...
                    name=$1 cg=$G/$2 uid=$3; shift 3
                    home=/tmp/home-$name
                    mkdir -p $home/tmp $cg && chown -R $uid:$uid $home
                    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $cg \\
                        setpriv --reuid=$uid --regid=$uid --clear-groups env HOME=$home XDG_CACHE_HOME=$home/.cache \\
                        '%2$s' -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Duser.home=$home \\
                        -Djava.io.tmpdir=$home/tmp -Disolated.vm.cgroup.base=$cg -cp '%3$s' %4$s $name "$@"
                    rc=$?
                    printf 'VMPHASE\\t%%s\\t%%s\\t%%s s\\n' $name $rc "$(cut -d' ' -f1 /proc/uptime)"
                    printf 'VMFACT\\t%%s\\tmemory\\t%%s\\n' $name "$(grep -E '^(MemAvailable|Shmem):' /proc/meminfo | tr -s ' \\n' ' ')"
                    [ $rc -ne %8$s ] || exit $rc  # a test hung (VMHUNG): the host fails now, naming it
                }
                phase root session.scope 0 %5$s
                mkdir $G/deleg && chown %6$s:%6$s $G/deleg $G/deleg/cgroup.procs $G/deleg/cgroup.subtree_control $G/deleg/cgroup.threads
                phase delegated deleg %6$s %5$s
                phase undelegated nodeleg %6$s %7$s
                """.formatted(
                        System.getProperty("user.dir"),
                        java,
                        classpath,
                        VmTestMain.class.getName(),
                        classes,
                        NOBODY,
                        ResourceLimitTests.class.getName(),
                        VmTestMain.HUNG_EXIT);
    }

    /** @return per test of the phase, its status and message */
    private static Map<String, String> results(String serial, String phase) {
        return serial.lines()
                .map(line -> line.split("\t", 6))
                .filter(f -> f.length == 6 && f[0].equals("VMTEST") && f[1].equals(phase))
                .collect(Collectors.toMap(f -> f[2], f -> f[3] + " " + f[5], (a, b) -> a + " | " + b));
    }

    private static String traces(String serial, String phase) {
        return "\n"
                + serial.lines()
                        .filter(l -> l.startsWith("VMTRACE\t" + phase + "\t"))
                        .collect(Collectors.joining("\n"));
    }

    /** The @Test methods of {@link #LIMIT_TESTS} and their @Nested classes. */
    private static int expectedTests() throws ClassNotFoundException {
        int count = 0;
        for (String name : LIMIT_TESTS) {
            count += tests(Class.forName(name));
        }
        return count;
    }

    private static int tests(Class<?> type) {
        long own = Arrays.stream(type.getDeclaredMethods())
                .filter(m -> m.isAnnotationPresent(Test.class))
                .count();
        return (int) own
                + Stream.of(type.getDeclaredClasses())
                        .filter(c -> c.isAnnotationPresent(Nested.class))
                        .mapToInt(CgroupV2HostTests::tests)
                        .sum();
    }
}
