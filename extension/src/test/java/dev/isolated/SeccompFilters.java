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
        ByteBuffer buffer = ByteBuffer.allocate(8 * program.length).order(ByteOrder.nativeOrder());
        for (int[] insn : program) {
            buffer.putShort((short) insn[0]).put((byte) insn[1]).put((byte) insn[2]).putInt(insn[3]);
        }
        return buffer.array();
    }
}
