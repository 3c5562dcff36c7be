package dev.isolated;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Compiled classic-BPF seccomp filters for tests (what libseccomp's {@code seccomp_export_bpf} would write). */
public final class SeccompFilters {
    private SeccompFilters() {
    }

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
            program[at] = new int[] {0x15, target - at - 1, 0, i < eacces.length ? eacces[i] : eperm[i - eacces.length]};
        }
        program[3 + n] = new int[] {0x15, 0, allow - (3 + n) - 1, 16}; // jeq ioctl, else allow
        program[4 + n] = new int[] {0x20, 0, 0, 24}; // ld [args[1]] (low half)
        program[5 + n] = new int[] {0x15, 2, 0, 0x8914}; // jeq SIOCSIFFLAGS -> EPERM
        program[allow] = new int[] {0x06, 0, 0, 0x7fff0000}; // ret ALLOW
        program[allow + 1] = new int[] {0x06, 0, 0, 0x00050000 | 13}; // ret ERRNO(EACCES)
        program[allow + 2] = new int[] {0x06, 0, 0, 0x00050000 | 1}; // ret ERRNO(EPERM)
        return encode(program);
    }

    private static byte[] encode(int[][] program) {
        ByteBuffer buffer = ByteBuffer.allocate(8 * program.length).order(ByteOrder.nativeOrder());
        for (int[] insn : program) {
            buffer.putShort((short) insn[0]).put((byte) insn[1]).put((byte) insn[2]).putInt(insn[3]);
        }
        return buffer.array();
    }
}
