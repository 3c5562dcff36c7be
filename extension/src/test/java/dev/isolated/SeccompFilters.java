package dev.isolated;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Compiled classic-BPF seccomp filters for tests (what libseccomp's {@code seccomp_export_bpf} would write). */
public final class SeccompFilters {
    private SeccompFilters() {}

    /** @return an x86_64 filter under which mkdir (83) and mkdirat (258) fail with EPERM; all else is allowed */
    public static byte[] denyMkdir() {
        int[][] program = {
            {0x20, 0, 0, 4}, // ld [arch]
            {0x15, 0, 3, 0xc000003e}, // jeq AUDIT_ARCH_X86_64, else allow
            {0x20, 0, 0, 0}, // ld [nr]
            {0x15, 2, 0, 83}, // jeq mkdir -> deny
            {0x15, 1, 0, 258}, // jeq mkdirat -> deny
            {0x06, 0, 0, 0x7fff0000}, // ret ALLOW
            {0x06, 0, 0, 0x00050001}, // ret ERRNO(EPERM)
        };
        return encode(program);
    }

    /**
     * What a user namespace under Ubuntu 24.04's {@code kernel.apparmor_restrict_unprivileged_userns=1} refuses
     * for lack of capabilities, while {@code clone(CLONE_NEWUSER | ...)} itself still works: mounts and
     * {@code pivot_root} fail with EACCES (AppArmor's mount mediation), {@code sethostname}, {@code setdomainname},
     * {@code unshare}, {@code setns} and {@code ioctl(SIOCSIFFLAGS)} with EPERM (capability checks).
     *
     * @return that x86_64 filter; everything else is allowed
     */
    public static byte[] restrictedUserNamespace() {
        int[] eacces = {165, 166, 155, 428, 429, 430, 431, 432, 442}; // mount umount2 pivot_root open_tree
        // move_mount fsopen fsconfig fsmount mount_setattr
        int[] eperm = {170, 171, 272, 308}; // sethostname setdomainname unshare setns
        int n = eacces.length + eperm.length;
        int allow = 3 + n + 3;
        int[][] program = new int[allow + 3][];
        program[0] = new int[] {0x20, 0, 0, 4}; // ld [arch]
        program[1] = new int[] {0x15, 0, allow - 2, 0xc000003e}; // jeq AUDIT_ARCH_X86_64, else allow
        program[2] = new int[] {0x20, 0, 0, 0}; // ld [nr]
        for (int i = 0; i < n; i++) {
            int at = 3 + i;
            int target = i < eacces.length ? allow + 1 : allow + 2;
            program[at] =
                    new int[] {0x15, target - at - 1, 0, i < eacces.length ? eacces[i] : eperm[i - eacces.length]};
        }
        program[3 + n] = new int[] {0x15, 0, allow - (3 + n) - 1, 16}; // jeq ioctl, else allow
        program[4 + n] = new int[] {0x20, 0, 0, 24}; // ld [args[1]] (low half)
        program[5 + n] = new int[] {0x15, 2, 0, 0x8914}; // jeq SIOCSIFFLAGS -> EPERM
        program[allow] = new int[] {0x06, 0, 0, 0x7fff0000}; // ret ALLOW
        program[allow + 1] = new int[] {0x06, 0, 0, 0x00050000 | 13}; // ret ERRNO(EACCES)
        program[allow + 2] = new int[] {0x06, 0, 0, 0x00050000 | 1}; // ret ERRNO(EPERM)
        return encode(program);
    }

    /**
     * What Docker's default seccomp profile refuses to a container without {@code CAP_SYS_ADMIN} that matters here:
     * {@code clone} with any namespace flag ({@code CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID |
     * NEWNET}, Docker's mask {@code 0x7E020000}), {@code unshare}, {@code setns}, {@code mount}, {@code umount2} and
     * {@code pivot_root} fail with EPERM; {@code clone3} with ENOSYS (so glibc falls back to {@code clone}).
     *
     * @return that x86_64 filter; everything else is allowed
     */
    public static byte[] dockerDefault() {
        int[] eperm = {272, 308, 165, 166, 155}; // unshare setns mount umount2 pivot_root
        int clone = 56;
        int clone3 = 435;
        int n = eperm.length + 1; // and clone3
        int cloneCheck = 3 + n;
        int allow = cloneCheck + 3;
        int[][] program = new int[allow + 3][];
        program[0] = new int[] {0x20, 0, 0, 4}; // ld [arch]
        program[1] = new int[] {0x15, 0, allow - 2, 0xc000003e}; // jeq AUDIT_ARCH_X86_64, else allow
        program[2] = new int[] {0x20, 0, 0, 0}; // ld [nr]
        for (int i = 0; i < eperm.length; i++) {
            int at = 3 + i;
            program[at] = new int[] {0x15, allow + 1 - at - 1, 0, eperm[i]}; // -> EPERM
        }
        program[3 + eperm.length] = new int[] {0x15, allow + 2 - (3 + eperm.length) - 1, 0, clone3}; // -> ENOSYS
        program[cloneCheck] = new int[] {0x15, 0, allow - cloneCheck - 1, clone}; // jeq clone, else allow
        program[cloneCheck + 1] = new int[] {0x20, 0, 0, 16}; // ld [args[0]] (low half: the flags)
        program[cloneCheck + 2] =
                new int[] {0x45, allow + 1 - (cloneCheck + 2) - 1, 0, 0x7E020000}; // jset ns flags -> EPERM
        program[allow] = new int[] {0x06, 0, 0, 0x7fff0000}; // ret ALLOW
        program[allow + 1] = new int[] {0x06, 0, 0, 0x00050000 | 1}; // ret ERRNO(EPERM)
        program[allow + 2] = new int[] {0x06, 0, 0, 0x00050000 | 38}; // ret ERRNO(ENOSYS)
        return encode(program);
    }

    private static byte[] encode(int[][] program) {
        ByteBuffer buffer = ByteBuffer.allocate(8 * program.length).order(ByteOrder.nativeOrder());
        for (int[] insn : program) {
            buffer.putShort((short) insn[0])
                    .put((byte) insn[1])
                    .put((byte) insn[2])
                    .putInt(insn[3]);
        }
        return buffer.array();
    }
}
