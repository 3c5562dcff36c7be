package dev.isolated.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command lines of the other ways to run {@code /bin/true} in isolation on the same rootfs. */
final class Alternatives {
    static final String FLOOR = "ProcessBuilder(\"/bin/true\"), no isolation (the floor)";
    static final String UNSHARE = "util-linux unshare -p -f -m -u -i -n --mount-proc chroot";
    static final String BWRAP = "bubblewrap --unshare-all";

    private Alternatives() {}

    /**
     * @param rootfs the rootfs
     * @return the unshare command line, or null when util-linux unshare is missing
     */
    static String[] unshare(Path rootfs) {
        Path unshare = Processes.find("unshare");
        Path chroot = Processes.find("chroot");
        if (unshare == null || chroot == null) {
            return null;
        }
        return new String[] {
            unshare.toString(),
            "-p",
            "-f",
            "-m",
            "-u",
            "-i",
            "-n",
            "--mount-proc=" + rootfs.resolve("proc"),
            chroot.toString(),
            rootfs.toString(),
            "/bin/true"
        };
    }

    /**
     * @param rootfs the rootfs
     * @return the bubblewrap command line, or null when bwrap is missing
     */
    static String[] bwrap(Path rootfs) {
        Path bwrap = Processes.find("bwrap");
        if (bwrap == null) {
            return null;
        }
        return new String[] {
            bwrap.toString(),
            "--unshare-all",
            "--ro-bind",
            rootfs.toString(),
            "/",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
            "/bin/true"
        };
    }

    /**
     * @param helper the helper executable
     * @param rootfs the rootfs
     * @return the helper's own command line for the one-shot case
     */
    static String[] helperRun(Path helper, Path rootfs) {
        List<String> argv = new ArrayList<>(List.of(
                helper.toString(),
                "run",
                "--rootfs",
                rootfs.toString(),
                "--ns",
                "pid,mount,uts,ipc,net",
                "--hostname",
                "bench",
                "--",
                "/bin/true"));
        return argv.toArray(String[]::new);
    }
}
