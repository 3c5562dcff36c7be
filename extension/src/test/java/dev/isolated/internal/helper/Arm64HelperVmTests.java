package dev.isolated.internal.helper;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.testvm.Arm64Vm;
import dev.isolated.testvm.TestVm;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar's arm64 helper on a real arm64 Linux: {@link Arm64Vm} boots Debian's arm64 kernel under qemu (emulated:
 * TCG) with the helper as the jar holds it, and the VM runs the README's command-line walk-through ("The helper on
 * its own"): the probe, PID 1, a tmpfs mounted inside and invisible outside, the hostname, pivot_root (and chroot
 * without a mount namespace) into a busybox rootfs that stays unwritten, {@code enter}, the user namespace as root
 * and as uid 65534, and the built-in seccomp filter (its aarch64 syscall numbers and audit arch). It also runs the
 * C unit tests ({@code native/src/test/c}) built for aarch64 ({@code build.sh unit-tests-for}), whose keyring check
 * loads both filters and makes the helper's own {@code keyctl} from its aarch64 instruction. Each step prints
 * {@code WALK <step> <line>} and {@code WALKRC <step> <exit code>} on the console. Needs what
 * {@code .ci/install-deps} installs (qemu-system-arm, the arm64 kernel and busybox).
 */
@DisplayName("the arm64 helper (in an arm64 VM)")
class Arm64HelperVmTests {
    private static final Duration TIMEOUT = Duration.ofSeconds(150);
    private static final Pattern STEP = Pattern.compile("^WALK\t([a-z0-9-]+)\t(.*)$", Pattern.MULTILINE);
    private static final Pattern RC = Pattern.compile("^WALKRC\t([a-z0-9-]+)\t(\\d+)$", Pattern.MULTILINE);
    private static final String RUN = "/isolated-helper run --rootfs /rootfs";

    @Test
    @DisplayName("runs the command-line walk-through: PID 1, mounts, hostname, pivot_root and chroot, enter, "
            + "user namespaces, the default seccomp filter")
    void walkThrough(@TempDir Path work) throws Exception {
        byte[] helper;
        try (InputStream in = HelperBinary.class
                .getClassLoader()
                .getResourceAsStream(HelperBinary.resourceName("Linux", "aarch64"))) {
            assertThat(in).as("the jar's aarch64 helper").isNotNull();
            helper = in.readAllBytes();
        }
        byte[] unitTests = Files.readAllBytes(unitTests(work));
        long start = System.nanoTime();
        String serial = Arm64Vm.run(
                Map.of("isolated-helper", helper, "parsers-test", unitTests),
                script(),
                Files.createDirectories(work),
                TIMEOUT);
        System.out.printf("arm64 VM: %.1f s%n", (System.nanoTime() - start) / 1e9);
        Map<String, List<String>> out = steps(serial);
        Map<String, Integer> rc = exitCodes(serial);
        rc.keySet().forEach(step -> out.putIfAbsent(step, List.of())); // a step that printed nothing
        String log = "\n--- serial log, last 100 lines ---\n" + TestVm.tail(serial, 100);

        assertThat(out.get("arch")).as("the VM is arm64" + log).containsExactly("aarch64");
        assertThat(rc)
                .as("every step ran" + log)
                .containsOnlyKeys(
                        "arch",
                        "probe",
                        "pid1",
                        "as-pid-1",
                        "hostname",
                        "host-hostname",
                        "mounts-inside",
                        "mounts-outside",
                        "rootfs-outside",
                        "pivot-root",
                        "chroot",
                        "write-inside",
                        "written-outside",
                        "enter",
                        "userns-root",
                        "userns-nobody",
                        "seccomp-default",
                        "seccomp-unconfined",
                        "unit-tests");

        assertThat(out.get("probe"))
                .as("probe" + log)
                .contains(
                        "userns ok",
                        "setgroups ok",
                        "mount-ns ok",
                        "tmpfs-userns ok",
                        "proc ok",
                        "overlay ok",
                        "pivot-root ok",
                        "net ok lo up",
                        "uts ok",
                        "ipc ok",
                        "cgroup-ns ok",
                        "time-ns ok offsets writable",
                        "userns-capabilities ok mount and sethostname work in a new user namespace");

        assertThat(rc.get("pid1")).as("pid1" + log).isZero();
        assertThat(processes(out.get("pid1")))
                .as("ps in the environment sees its init as 1 and nothing of the VM" + log)
                .containsEntry("1", "isolated-init")
                .containsOnlyKeys("1", pidOf(out.get("pid1"), "ps"))
                .containsValues("isolated-init", "ps");
        assertThat(processes(out.get("as-pid-1")))
                .as("--as-pid-1: ps is PID 1" + log)
                .containsExactly(Map.entry("1", "ps"));

        assertThat(out.get("hostname")).as("hostname" + log).containsExactly("box");
        assertThat(out.get("host-hostname"))
                .as("the VM's hostname is untouched" + log)
                .doesNotContain("box");

        assertThat(out.get("mounts-inside"))
                .as("a tmpfs mounted inside" + log)
                .anyMatch(l -> l.startsWith("inside-only /mnt tmpfs "))
                .contains("secret");
        assertThat(out.get("mounts-outside"))
                .as("the VM's mount table, while the environment runs" + log)
                .containsExactly("0");
        assertThat(out.get("rootfs-outside"))
                .as("the rootfs's /mnt seen from the VM" + log)
                .isEmpty();
        assertThat(rc.get("mounts-inside")).as("mounts-inside" + log).isZero();

        assertThat(out.get("pivot-root"))
                .as("with mount: pivot_root into the rootfs" + log)
                .containsExactly("busybox rootfs", "no /isolated-helper");
        assertThat(out.get("chroot"))
                .as("without mount: chroot into the rootfs" + log)
                .containsExactly("busybox rootfs", "no /isolated-helper");
        assertThat(out.get("written-outside"))
                .as("a write inside never reaches the rootfs" + log)
                .containsExactly("absent");

        assertThat(out.get("enter"))
                .as("enter joins a running environment's mount and uts namespaces" + log)
                .containsExactly("entered", "busybox rootfs");

        assertThat(out.get("userns-root"))
                .as("as root: 0 inside is the environment's own range" + log)
                .hasSize(2);
        assertThat(out.get("userns-root").get(0)).isEqualTo("0");
        Matcher range =
                Pattern.compile("0 (\\d+) 65536").matcher(out.get("userns-root").get(1));
        assertThat(range.matches())
                .as("uid_map " + out.get("userns-root") + log)
                .isTrue();
        long first = Long.parseLong(range.group(1));
        assertThat(first).as("the range starts at 2^30 or above, 65536-aligned").isGreaterThanOrEqualTo(1L << 30);
        assertThat(first % 65536).isZero();
        assertThat(out.get("userns-nobody"))
                .as("as uid 65534: 0 inside is 65534 outside" + log)
                .containsExactly("65534", "0", "0 65534 1");

        assertThat(out.get("seccomp-default"))
                .as("the built-in filter on aarch64: loaded, commands run, " + "a namespace refused" + log)
                .containsExactly("Seccomp:\t2", "unshare refused");
        assertThat(out.get("seccomp-unconfined"))
                .as("without it the same command may unshare" + log)
                .containsExactly("Seccomp:\t0", "unshare allowed");
        assertThat(out.get("unit-tests"))
                .as("the C unit tests on aarch64, the keyring exception's among them" + log)
                .anyMatch(line -> line.matches("parsers_test: \\d+ checks passed"));
        rc.forEach((step, code) -> {
            if (!step.equals("mounts-outside") && !step.equals("rootfs-outside")) {
                assertThat(code).as(step + " exit code" + log).isZero();
            }
        });
    }

    /** The walk-through, as the VM's root runs it (busybox sh). */
    private static String script() {
        return """
                set -u
                step() {  # NAME CMD...: runs CMD, prints each line of its output and its exit code
                    name=$1; shift
                    "$@" >/tmp/step.out 2>&1
                    rc=$?
                    while IFS= read -r line; do printf 'WALK\\t%%s\\t%%s\\n' "$name" "$line"; done </tmp/step.out
                    printf 'WALKRC\\t%%s\\t%%s\\n' "$name" "$rc"
                }
                waitfor() { i=0; while [ ! -e "$1" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; }
                mkdir -p /rootfs/bin /rootfs/etc /rootfs/mnt /rootfs/proc /rootfs/dev /rootfs/tmp /tmp/sync /tmp/sync2
                cp /bin/busybox /rootfs/bin/busybox && chroot /rootfs /bin/busybox --install -s /bin
                echo 'busybox rootfs' > /rootfs/etc/marker
                chmod 0777 /tmp/sync /tmp/sync2
                step arch uname -m
                step probe /isolated-helper probe
                step pid1 %1$s --ns pid,mount,uts --hostname box -- ps -o pid,comm
                step as-pid-1 %1$s --as-pid-1 -- ps -o pid,comm
                step hostname %1$s --ns pid,mount,uts --hostname box -- hostname
                step host-hostname hostname
                %1$s --ns pid,mount --bind /tmp/sync:/sync -- sh -c 'mount -t tmpfs inside-only /mnt &&
                    echo secret > /mnt/file && grep "^inside-only " /proc/mounts > /sync/mounts && cat /mnt/file >> /sync/mounts &&
                    touch /sync/ready && while [ ! -e /sync/done ]; do sleep 0.1; done' >/tmp/sync/out 2>&1 &
                env=$!
                waitfor /tmp/sync/ready
                step mounts-outside grep -c inside-only /proc/mounts
                step rootfs-outside ls -A /rootfs/mnt
                touch /tmp/sync/done
                wait $env
                envrc=$?
                step mounts-inside sh -c "cat /tmp/sync/mounts; exit $envrc"
                step pivot-root %1$s --ns pid,mount -- sh -c 'cat /etc/marker; [ -e /isolated-helper ] || echo no /isolated-helper'
                step chroot %1$s --ns pid,uts -- sh -c 'cat /etc/marker; [ -e /isolated-helper ] || echo no /isolated-helper'
                step write-inside %1$s --ns pid,mount -- sh -c 'echo x > /etc/written-inside && echo y > /written-inside'
                step written-outside sh -c '[ -e /rootfs/etc/written-inside ] || [ -e /rootfs/written-inside ] || echo absent'
                %1$s --ns pid,mount,uts --hostname entered --print-pid --bind /tmp/sync2:/sync -- sh -c \\
                    'touch /sync/ready; while [ ! -e /sync/done ]; do sleep 0.1; done' 2>/tmp/sync2/err &
                env=$!
                waitfor /tmp/sync2/ready
                i=0; while ! grep -q '^init-pid=' /tmp/sync2/err && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
                pid=$(sed -n 's/^init-pid=//p' /tmp/sync2/err)
                step enter /isolated-helper enter --pid "$pid" --ns mount,uts -- sh -c 'hostname; cat /etc/marker'
                touch /tmp/sync2/done
                wait $env
                step userns-root %1$s -- sh -c 'id -u; sed "s/^ *//; s/  */ /g" /proc/self/uid_map'
                mkdir -p /etc && echo 'nobody:x:65534:65534:nobody:/tmp:/bin/sh' >> /etc/passwd
                echo 'nogroup:x:65534:' >> /etc/group
                step userns-nobody su -s /bin/sh nobody -c \\
                    "id -u >&2 && %1$s -- sh -c 'id -u; sed \\"s/^ *//; s/  */ /g\\" /proc/self/uid_map'"
                step seccomp-default %1$s --caps default --seccomp-profile default -- sh -c \\
                    'grep "^Seccomp:" /proc/self/status; unshare -U true 2>/dev/null && echo unshare allowed || echo unshare refused'
                step seccomp-unconfined %1$s --caps default --seccomp-profile unconfined -- sh -c \\
                    'grep "^Seccomp:" /proc/self/status; unshare -U true 2>/dev/null && echo unshare allowed || echo unshare refused'
                step unit-tests /parsers-test
                """.formatted(RUN);
    }

    /** @return the C unit tests built static for aarch64 by {@code native/build.sh unit-tests-for} */
    private static Path unitTests(Path work) throws Exception {
        Path out = work.resolve("parsers-test-aarch64");
        Path nativeDir = Path.of("../native").toAbsolutePath().normalize();
        Process build = new ProcessBuilder(
                        "sh",
                        nativeDir.resolve("build.sh").toString(),
                        "unit-tests-for",
                        "aarch64",
                        nativeDir.resolve("src/main/c").toString(),
                        nativeDir.resolve("src/test/c").toString(),
                        out.toString())
                .redirectErrorStream(true)
                .start();
        String output = new String(build.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(build.waitFor())
                .as("build.sh unit-tests-for aarch64: %s", output)
                .isZero();
        return out;
    }

    /** @return per step, its output lines without the helper's note about copying the rootfs (tmpfs has no idmap) */
    private static Map<String, List<String>> steps(String serial) {
        Map<String, List<String>> steps = new LinkedHashMap<>();
        Matcher m = STEP.matcher(serial);
        while (m.find()) {
            if (!m.group(2).contains("no idmapped mounts on its filesystem")) {
                steps.computeIfAbsent(m.group(1), k -> new java.util.ArrayList<>())
                        .add(m.group(2));
            }
        }
        return steps;
    }

    private static Map<String, Integer> exitCodes(String serial) {
        Map<String, Integer> codes = new LinkedHashMap<>();
        Matcher m = RC.matcher(serial);
        while (m.find()) {
            codes.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return codes;
    }

    /** @return pid to command of {@code ps -o pid,comm} output */
    private static Map<String, String> processes(List<String> ps) {
        Map<String, String> processes = new LinkedHashMap<>();
        for (String line : ps == null ? List.<String>of() : ps) {
            String[] f = line.trim().split("\\s+", 2);
            if (f.length == 2 && f[0].matches("\\d+")) {
                processes.put(f[0], f[1]);
            }
        }
        return processes;
    }

    private static String pidOf(List<String> ps, String command) {
        return processes(ps).entrySet().stream()
                .filter(e -> e.getValue().equals(command))
                .map(Map.Entry::getKey)
                .findFirst()
                .orElse("none");
    }
}
