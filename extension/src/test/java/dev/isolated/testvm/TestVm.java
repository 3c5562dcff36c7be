package dev.isolated.testvm;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Boots the Linux of {@link VmKernel} under qemu (TCG: no KVM needed) with a busybox initramfs that mounts the
 * host's {@code /} read-only over 9p, gives it fresh {@code /proc}, {@code /sys}, {@code /dev}, a tmpfs
 * {@code /tmp}, a tmpfs {@code /run} (as every systemd host has; the helper keeps its id range locks there) and
 * a cgroup2-only {@code /sys/fs/cgroup} (mounted as systemd does), moves it onto {@code /} and
 * chroots into it (as {@code switch_root} does: a mere chroot would forbid user namespaces), and runs
 * {@code sh <share>/vm-run.sh} as root. {@code share} is a host directory shared read-only at the same path.
 * Whatever the script prints comes back as the serial log.
 */
public final class TestVm {
    /** Printed by the init after the script, with its exit code. */
    public static final String SCRIPT_EXIT = "VM-SCRIPT-EXIT ";

    private static final List<String> MODULES = List.of("virtio_pci", "9pnet_virtio", "9p", "overlay");
    /**
     * The kernel's lines the init copies from /dev/kmsg to the serial log as {@code VMKERNEL} lines, as they come: errors
     * and worse (an OOM kill, hung tasks, RCU stalls, soft lockups; not their register dumps and call traces), the
     * lines saying who invoked the OOM killer, in which cgroup, and its usage, and failed page allocations.
     */
    private static final String KERNEL_LINES =
            "*'-; '*) ;; [0-3],*|*'invoked oom-killer'*|*oom-kill:*|*'memory: usage'*" + "|*'allocation failure'*";

    private static final String MOUNT_9P = "mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000";

    private TestVm() {}

    /**
     * @param share a host directory holding {@code vm-run.sh} (and whatever else the script needs)
     * @param project the project's directory, shared read-only at the same path (it may be under {@code /tmp},
     *     which the VM has a fresh tmpfs on, as a CI's clean clone is)
     * @param work a host directory for the initramfs and the serial log
     * @param timeout after which qemu is killed
     * @return the serial log (console output), without {@code \r} and terminal escapes
     */
    public static String run(Path share, Path project, Path work, Duration timeout)
            throws IOException, InterruptedException {
        VmKernel kernel = VmKernel.find();
        String qemu = executable("qemu-system-x86_64");
        Path initramfs = initramfs(kernel, share, project, work.resolve("initramfs.cpio.gz"));
        Path log = work.resolve("serial.log");
        // setpriv: qemu dies with this JVM's test thread, even when the JVM is killed (SIGKILL), instead of
        // running on, orphaned, until its timeout inside the VM
        List<String> command = List.of(
                "setpriv",
                "--pdeathsig",
                "KILL",
                "--",
                qemu,
                "-accel",
                "tcg",
                "-m",
                "1536",
                "-smp",
                "2",
                "-nodefaults",
                "-nographic",
                "-no-reboot",
                "-nic",
                "none",
                "-serial",
                "file:" + log,
                "-monitor",
                "none",
                "-kernel",
                kernel.vmlinuz().toString(),
                "-initrd",
                initramfs.toString(),
                "-append",
                "console=ttyS0 quiet loglevel=1 panic=-1",
                "-virtfs",
                "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
                "-virtfs",
                "local,path=" + share + ",mount_tag=share,security_model=none,readonly=on",
                "-virtfs",
                "local,path=" + project + ",mount_tag=project,security_model=none,readonly=on,multidevs=remap");
        Process vm = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("qemu.out").toFile())
                .start();
        boolean ended = vm.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!ended) {
            vm.destroyForcibly().waitFor();
        }
        String serial = Files.exists(log)
                ? Files.readString(log, UTF_8).replace("\r", "").replaceAll("\u001b(\\[[0-9;?]*[A-Za-z]|c)", "")
                : "";
        if (!ended || vm.exitValue() != 0 || !serial.contains(SCRIPT_EXIT)) {
            throw new AssertionError(
                    (ended ? "qemu exited with " + vm.exitValue() : "the VM timed out after " + timeout)
                            + "; qemu said: "
                            + Files.readString(work.resolve("qemu.out")).strip()
                            + "\n--- where it stopped ---\n" + VmTestMain.diagnosis(serial)
                            + "\n--- serial log, last 60 lines ---\n" + tail(serial, 60));
        }
        return serial;
    }

    /** @return the last {@code n} lines of {@code text} */
    public static String tail(String text, int n) {
        List<String> lines = text.lines().toList();
        return lines.subList(Math.max(0, lines.size() - n), lines.size()).stream()
                .collect(Collectors.joining("\n"));
    }

    private static Path initramfs(VmKernel kernel, Path share, Path project, Path target) throws IOException {
        List<String> insmods = new ArrayList<>();
        try (Initramfs cpio = new Initramfs(target)) {
            for (String dir : List.of("bin", "dev", "proc", "sys", "host", "modules")) {
                cpio.directory(dir);
            }
            cpio.copy("bin/busybox", Path.of(executable("busybox")), 0755);
            for (Path ko : kernel.withDependencies(MODULES)) {
                cpio.copy("modules/" + ko.getFileName(), ko, 0644);
                insmods.add("insmod /modules/" + ko.getFileName());
            }
            cpio.text("init", init(insmods, share, project), 0755);
        }
        return target;
    }

    private static String init(List<String> insmods, Path share, Path project) {
        return """
                #!/bin/busybox sh
                /bin/busybox --install -s /bin
                export PATH=/bin
                mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev
                (cat /dev/kmsg | while IFS= read -r l; do case "$l" in %6$s) printf 'VMKERNEL\\t%%s\\n' "$l";; esac; done) &
                %s
                %s hostroot /host
                mount -t proc proc /host/proc && mount -t sysfs sysfs /host/sys
                mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /host/sys/fs/cgroup
                mount -t devtmpfs devtmpfs /host/dev && mkdir -p /host/dev/pts /host/dev/shm
                mount -t devpts devpts /host/dev/pts && mount -t tmpfs shm /host/dev/shm
                mount -t tmpfs -o mode=1777 tmpfs /host/tmp
                mount -t tmpfs -o mode=0755 run /host/run
                mkdir -p /host%3$s && %2$s share /host%3$s
                mkdir -p /host%5$s && %2$s project /host%5$s
                cd /host && mount --move . / && chroot . /bin/sh %3$s/vm-run.sh
                echo "%4$s$?"
                poweroff -f
                """.formatted(String.join(" && ", insmods), MOUNT_9P, share, SCRIPT_EXIT, project, KERNEL_LINES);
    }

    /** @return the program's path on PATH (or /sbin, /usr/sbin); fails, naming .ci/install-deps, without it */
    private static String executable(String name) {
        return executable(name, "qemu-system-x86, busybox-static and the test VM's kernel");
    }

    /**
     * @param installs what .ci/install-deps installs that provides it, for the failure message
     * @return the program's path on PATH (or /sbin, /usr/sbin); fails, naming .ci/install-deps, without it
     */
    static String executable(String name, String installs) {
        String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/sbin:/sbin";
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        throw new AssertionError(
                name + " not found on PATH: run .ci/install-deps as root (it installs " + installs + ")");
    }
}
