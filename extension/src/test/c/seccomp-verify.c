/*
 * seccomp-verify.c - test-only: runs the helper's default filter (seccomp.c, included) in a small
 * cBPF interpreter for every syscall number 0..599 and both variants, and compares each answer with
 * the rule list it was built from; also the ioctl high-bit bypass, x32 and i386. Exit 0 when all match.
 * The argument checks themselves are tested against the kernel (HermeticDefaultsTests).
 */
#include "seccomp.c"
#include <stdio.h>
static unsigned run(const struct sock_fprog *p, const struct seccomp_data *d) {
    unsigned A = 0; const unsigned char *mem = (const unsigned char *)d;
    for (unsigned pc = 0; pc < p->len; pc++) {
        const struct sock_filter *f = &p->filter[pc];
        switch (f->code) {
        case BPF_LD|BPF_W|BPF_ABS: memcpy(&A, mem + f->k, 4); break;
        case BPF_JMP|BPF_JEQ|BPF_K: pc += (A == f->k) ? f->jt : f->jf; break;
        case BPF_JMP|BPF_JGE|BPF_K: pc += (A >= f->k) ? f->jt : f->jf; break;
        case BPF_JMP|BPF_JGT|BPF_K: pc += (A > f->k) ? f->jt : f->jf; break;
        case BPF_JMP|BPF_JSET|BPF_K: pc += (A & f->k) ? f->jt : f->jf; break;
        case BPF_RET|BPF_K: return f->k;
        default: printf("bad op %x\n", f->code); return 0xdead;
        }
    }
    return 0xbeef;
}
int main(void) {
    int bad = 0;
    for (int all = 0; all < 2; all++) {
        const struct sock_fprog *p = default_seccomp_program(all);
        struct rule rules[MAX_RULES]; size_t n = collect_rules(rules, all);
        for (unsigned nr = 0; nr < 600; nr++) {
            struct seccomp_data d = { .nr = (int)nr, .arch = NATIVE_ARCH };
            unsigned want = nr > LAST_REVIEWED_NR ? (SECCOMP_RET_ERRNO|ENOSYS) : SECCOMP_RET_ALLOW;
            for (size_t i = 0; i < n && nr <= LAST_REVIEWED_NR; i++) if (rules[i].nr == nr)
                want = rules[i].action == ACT_EPERM ? (SECCOMP_RET_ERRNO|EPERM) : rules[i].action == ACT_ENOSYS ? (SECCOMP_RET_ERRNO|ENOSYS) : 0xa;
            unsigned got = run(p, &d);
            if (want == 0xa) continue; /* argument checks: tested against the kernel */
            if (got != want) { printf("all=%d nr=%u want %x got %x\n", all, nr, want, got); bad++; }
        }
        struct seccomp_data d = { .nr = __NR_ioctl, .arch = NATIVE_ARCH }; d.args[1] = 0xffffffff00005412ull;
        if (run(p, &d) != (SECCOMP_RET_ERRNO|EPERM)) { printf("ioctl high bits bypass\n"); bad++; }
        d.args[1] = 0x5413; if (run(p, &d) != SECCOMP_RET_ALLOW) { printf("ioctl other\n"); bad++; }
        d.nr = 39 | 0x40000000; if (run(p, &d) != (SECCOMP_RET_ERRNO|ENOSYS)) { printf("x32\n"); bad++; }
        d.nr = 39; d.arch = AUDIT_ARCH_I386; if (run(p, &d) != (SECCOMP_RET_ERRNO|ENOSYS)) { printf("i386\n"); bad++; }
        printf("all=%d: %u instructions, %zu rules\n", all, p->len, n);
    }
    printf("%s\n", bad ? "MISMATCH" : "every syscall number 0..599 as expected");
    return bad != 0;
}
