package dev.isolated.testvm;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Boots an arm64 Linux (Debian's kernel, {@link VmKernel#arm64()}) under {@code qemu-system-aarch64} (machine
 * {@code virt}, TCG: emulated, on any host) from an initramfs holding arm64 busybox as {@code /bin}, the given
 * files and the overlay module. Its init moves everything onto a tmpfs {@code /} (as {@code switch_root} does:
 * the initramfs cannot be pivoted away from, and a chroot would forbid user namespaces), gives it {@code /proc},
 * {@code /sys}, {@code /dev}, a tmpfs {@code /tmp} and {@code /run}, and runs {@code sh /vm-run.sh} as root.
 * No disk, no network device, no host directory: what the script prints comes back as the serial log.
 */
public final class Arm64Vm {
    private static final List<String> MODULES = List.of("overlay");

    private Arm64Vm() {}

    /**
     * @param files files to put in the VM's {@code /} (mode 0755), by name, e.g. {@code isolated-helper}
     * @param script the shell script the VM runs as root ({@code /vm-run.sh}, busybox {@code sh})
     * @param work a host directory for the initramfs and the serial log
     * @param timeout after which qemu is killed
     * @return the serial log (console output), without {@code \r} and terminal escapes
     */
    public static String run(Map<String, byte[]> files, String script, Path work, Duration timeout)
            throws IOException, InterruptedException {
        VmKernel kernel = VmKernel.arm64();
        Path busybox = kernel.directory().resolve("bin/busybox");
        if (!Files.isRegularFile(busybox)) {
            throw new AssertionError("No arm64 busybox at " + busybox + ": run .ci/install-deps as root (it unpacks "
                    + "busybox-static:arm64 next to the arm64 kernel)");
        }
        String qemu = TestVm.executable("qemu-system-aarch64", "qemu-system-arm and the arm64 test VM's kernel");
        Path initramfs = work.resolve("initramfs-arm64.cpio.gz");
        List<String> insmods = new ArrayList<>();
        try (Initramfs cpio = new Initramfs(initramfs)) {
            for (String dir : List.of("bin", "dev", "proc", "sys", "new", "modules")) {
                cpio.directory(dir);
            }
            cpio.copy("bin/busybox", busybox, 0755);
            for (Path ko : kernel.withDependencies(MODULES)) {
                cpio.copy("modules/" + ko.getFileName(), ko, 0644);
                insmods.add("insmod /modules/" + ko.getFileName());
            }
            for (Map.Entry<String, byte[]> file : files.entrySet()) {
                cpio.file(file.getKey(), file.getValue(), 0755);
            }
            cpio.text("vm-run.sh", script, 0644);
            cpio.text("init", init(insmods), 0755);
        }
        Path log = work.resolve("serial-arm64.log");
        // setpriv: qemu dies with this JVM's test thread, even when the JVM is killed (SIGKILL), instead of
        // running on, orphaned, until its timeout inside the VM
        List<String> command = List.of(
                "setpriv",
                "--pdeathsig",
                "KILL",
                "--",
                qemu,
                "-M",
                "virt",
                "-cpu",
                "max,pauth-impdef=on",
                "-accel",
                "tcg",
                "-m",
                "1024",
                "-smp",
                "2",
                "-nodefaults",
                "-nographic",
                "-no-reboot",
                "-serial",
                "file:" + log,
                "-monitor",
                "none",
                "-kernel",
                kernel.vmlinuz().toString(),
                "-initrd",
                initramfs.toString(),
                "-append",
                "console=ttyAMA0 quiet loglevel=1 panic=-1");
        Process vm = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("qemu-arm64.out").toFile())
                .start();
        boolean ended = vm.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (!ended) {
            vm.destroyForcibly().waitFor();
        }
        String serial = Files.exists(log)
                ? Files.readString(log, UTF_8).replace("\r", "").replaceAll("\u001b(\\[[0-9;?]*[A-Za-z]|c)", "")
                : "";
        if (!ended || vm.exitValue() != 0 || !serial.contains(TestVm.SCRIPT_EXIT)) {
            throw new AssertionError(
                    (ended ? "qemu exited with " + vm.exitValue() : "the VM timed out after " + timeout)
                            + "; qemu said: "
                            + Files.readString(work.resolve("qemu-arm64.out")).strip()
                            + "\n--- serial log, last 60 lines ---\n" + TestVm.tail(serial, 60));
        }
        return serial;
    }

    private static String init(List<String> insmods) {
        return """
                #!/bin/busybox sh
                /bin/busybox --install -s /bin
                export PATH=/bin
                mount -t proc proc /proc && mount -t sysfs sysfs /sys && mount -t devtmpfs devtmpfs /dev
                %s
                mount -t tmpfs -o mode=0755 root /new
                for f in /*; do
                    case $f in /proc|/sys|/dev|/new|/init|/modules) ;; *) cp -a "$f" /new/ ;; esac
                done
                mkdir -p /new/proc /new/sys /new/dev /new/tmp /new/run
                mount --move /proc /new/proc && mount --move /sys /new/sys && mount --move /dev /new/dev
                exec switch_root /new /bin/sh -c 'mount -t tmpfs -o mode=1777 tmp /tmp && mount -t tmpfs -o mode=0755 run /run
                    cd / && sh /vm-run.sh; echo "%s$?"; poweroff -f'
                """.formatted(String.join(" && ", insmods), TestVm.SCRIPT_EXIT);
    }
}
