/*
 * seccomp.c - the built-in default seccomp filter: classic BPF generated here, no libseccomp.
 *
 * - A deny list in the spirit of Docker's default profile, for the native architecture only
 *   (x86_64, aarch64): any other AUDIT_ARCH (i386 `int 0x80`, arm32) and x86_64's x32 ABI
 *   (bit 0x40000000) get ENOSYS, as do numbers above LAST_REVIEWED_NR (syscalls newer than
 *   this list: ENOSYS, not EPERM, makes libc fall back).
 * - Always EPERM: keyrings (but for joining a new session keyring from one instruction of the
 *   helper's own, see isolated_join_keyring), bpf, perf events, userfaultfd, io_uring, kexec,
 *   modules, raw I/O ports, swap, reboot, accounting, clock setting, syslog, quota,
 *   open_by_handle_at, and the obsolete calls Docker never allows. ioctl TIOCSTI/TIOCLINUX, socket AF_ALG/AF_VSOCK and
 *   personality() other than Docker's five values are EPERM too (arguments compared on their
 *   low 32 bits, which is all the kernel reads: CVE-2019-7303).
 * - Without all capabilities (Docker's set) also what Docker allows only with CAP_SYS_ADMIN:
 *   mount and the mount API, pivot_root, setns, unshare/clone with namespace flags (clone3:
 *   ENOSYS, its flags are behind a pointer; libc falls back to clone), fanotify_init,
 *   sethostname/setdomainname. So no new user namespace hands the payload fresh capabilities.
 *   With all capabilities these stay allowed: the env's root may mount and unshare.
 * - Shape: arch check, x32 and ceiling checks, then a binary search over the rules sorted by
 *   number (a few jumps per syscall: the kernel runs the filter for every syscall number when it
 *   loads it, to cache constant answers, so a linear list made each load cost ~0.2 ms), then
 *   one block per argument check, then the three returns. All jumps go forward.
 * - Both programs are built once per helper (main() asks for them at start), so a forked
 *   command only reads them. A jump that does not fit cBPF's 8 bits (or too many rules)
 *   empties the program, and default_seccomp_program() then fails rather than load a wrong
 *   filter.
 */
#include "seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Unified numbers (the same on every architecture) that older headers may lack. */
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#define __NR_move_mount 429
#define __NR_fsopen 430
#define __NR_fsconfig 431
#define __NR_fsmount 432
#define __NR_fspick 433
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_quotactl_fd
#define __NR_quotactl_fd 443
#endif
#ifndef __NR_open_tree_attr
#define __NR_open_tree_attr 467
#endif
/* file_setattr (Linux 6.17); anything above gets ENOSYS. */
#define LAST_REVIEWED_NR 469

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LOW(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HIGH(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#define IP_LOW offsetof(struct seccomp_data, instruction_pointer)
#define IP_HIGH (offsetof(struct seccomp_data, instruction_pointer) + 4)
#else
#define ARG_LOW(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#define ARG_HIGH(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define IP_LOW (offsetof(struct seccomp_data, instruction_pointer) + 4)
#define IP_HIGH offsetof(struct seccomp_data, instruction_pointer)
#endif

#define STR_(x) #x
#define STR(x) STR_(x)

/* The one keyring call the filter lets through: keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL), a new
 * empty session keyring, and only from the syscall instruction below (seccomp_data's instruction
 * pointer is the address right after it, on both architectures). A command forked by its env's
 * zygote (zygote.c) inherits the filter and still joins a keyring of its own there; code under
 * test, in an address space of its own after execve, has no such instruction at that address. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl isolated_join_keyring\n"
        ".type isolated_join_keyring, @function\n"
        "isolated_join_keyring:\n"
        "    mov $" STR(__NR_keyctl) ", %eax\n"
        "    mov $1, %edi\n"
        "    xor %esi, %esi\n"
        "    xor %edx, %edx\n"
        "    syscall\n"
        ".globl isolated_join_keyring_return\n"
        "isolated_join_keyring_return:\n"
        "    ret\n"
        ".size isolated_join_keyring, .-isolated_join_keyring\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".globl isolated_join_keyring\n"
        ".type isolated_join_keyring, %function\n"
        "isolated_join_keyring:\n"
        "    mov x8, #" STR(__NR_keyctl) "\n"
        "    mov x0, #1\n"
        "    mov x1, #0\n"
        "    mov x2, #0\n"
        "    svc #0\n"
        ".globl isolated_join_keyring_return\n"
        "isolated_join_keyring_return:\n"
        "    ret\n"
        ".size isolated_join_keyring, .-isolated_join_keyring\n");
#endif
long isolated_join_keyring(void);
extern const char isolated_join_keyring_return[];

int seccomp_join_session_keyring(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
    long rc = isolated_join_keyring();
    if (rc < 0 && rc > -4096) {
        errno = (int)-rc;
        return -1;
    }
    return 0;
#else
    return (int)syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL, 0, 0, 0);
#endif
}

#define TIOCSTI_NR 0x5412
#define TIOCLINUX_NR 0x541C
#define AF_ALG_NR 38
#define AF_VSOCK_NR 40
/* CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET, and for unshare CLONE_NEWTIME. */
#define CLONE_NS_FLAGS 0x7E020000u
#define UNSHARE_NS_FLAGS (CLONE_NS_FLAGS | 0x80u)

static const int ALWAYS_DENIED[] = {
    __NR_add_key, __NR_request_key, __NR_bpf, __NR_perf_event_open,
    __NR_userfaultfd, __NR_kexec_load, __NR_kexec_file_load, __NR_init_module,
    __NR_finit_module, __NR_delete_module, __NR_swapon, __NR_swapoff, __NR_reboot, __NR_acct,
    __NR_settimeofday, __NR_clock_settime, __NR_adjtimex, __NR_clock_adjtime, __NR_syslog,
    __NR_vhangup, __NR_quotactl, __NR_quotactl_fd, __NR_open_by_handle_at,
    __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#ifdef __NR_nfsservctl
    __NR_nfsservctl,
#endif
#ifdef __NR_lookup_dcookie
    __NR_lookup_dcookie,
#endif
#ifdef __NR_iopl
    __NR_iopl, __NR_ioperm,
#endif
#ifdef __NR_uselib
    __NR_uselib, __NR_ustat, __NR_sysfs,
#endif
#ifdef __NR__sysctl
    __NR__sysctl,
#endif
#ifdef __NR_create_module
    __NR_create_module, __NR_get_kernel_syms, __NR_query_module,
#endif
};

static const int SYS_ADMIN_ONLY[] = {
    __NR_mount, __NR_umount2, __NR_pivot_root, __NR_setns, __NR_open_tree, __NR_open_tree_attr,
    __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
    __NR_mount_setattr, __NR_fanotify_init, __NR_sethostname, __NR_setdomainname,
};

/* personality() values Docker allows: PER_LINUX, PER_LINUX32, UNAME26, both, and the query. */
static const unsigned PERSONALITIES[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffffu };

/* What a rule does with its syscall: refuse it, or check an argument in a block of its own. */
enum action { ACT_EPERM, ACT_ENOSYS, ACT_IOCTL, ACT_SOCKET, ACT_PERSONALITY, ACT_KEYCTL, ACT_CLONE,
              ACT_UNSHARE };

struct rule {
    unsigned nr;
    enum action action;
};

/* Jump targets: the three returns, one block per argument check, then the tree's nodes. */
enum { NONE, ALLOW, DENY_EPERM, DENY_ENOSYS, FIRST_BLOCK, FIRST_NODE = FIRST_BLOCK + ACT_UNSHARE + 1 };

#define MAX_INSNS 256
#define MAX_LABELS 128
#define MAX_RULES 96

struct builder {
    struct sock_filter insn[MAX_INSNS];
    unsigned char jt_label[MAX_INSNS], jf_label[MAX_INSNS];
    size_t n;
    size_t at[MAX_LABELS]; /* where each label was placed */
    unsigned next_label;
    bool overflow;
};

static void emit(struct builder *b, unsigned short code, unsigned jt, unsigned jf, unsigned k)
{
    if (b->n == MAX_INSNS) {
        b->overflow = true;
        return;
    }
    b->insn[b->n] = (struct sock_filter){ code, 0, 0, k };
    b->jt_label[b->n] = (unsigned char)jt;
    b->jf_label[b->n] = (unsigned char)jf;
    b->n++;
}

static void place(struct builder *b, unsigned label)
{
    b->at[label] = b->n;
}

static void load(struct builder *b, unsigned offset)
{
    emit(b, BPF_LD | BPF_W | BPF_ABS, NONE, NONE, offset);
}

static void jump_if(struct builder *b, unsigned short op, unsigned k, unsigned target)
{
    emit(b, BPF_JMP | op | BPF_K, target, NONE, k);
}

static void ret(struct builder *b, unsigned value)
{
    emit(b, BPF_RET | BPF_K, NONE, NONE, value);
}

static unsigned target_of(enum action action)
{
    return action == ACT_EPERM ? DENY_EPERM : action == ACT_ENOSYS ? DENY_ENOSYS
                                                                   : FIRST_BLOCK + (unsigned)action;
}

/* A binary search over the rules (sorted by nr) with A = the syscall number: a few jumps per
 * syscall instead of one per rule, which also keeps the kernel's per-syscall action cache
 * (built when the filter is loaded, by running it for every number) cheap. */
static void emit_tree(struct builder *b, const struct rule *rules, size_t count)
{
    if (count <= 3) {
        for (size_t i = 0; i < count; i++)
            jump_if(b, BPF_JEQ, rules[i].nr, target_of(rules[i].action));
        ret(b, SECCOMP_RET_ALLOW);
        return;
    }
    size_t half = count / 2;
    unsigned right = b->next_label < MAX_LABELS ? b->next_label++ : (b->overflow = true, NONE);
    jump_if(b, BPF_JGE, rules[half].nr, right);
    emit_tree(b, rules, half);
    place(b, right);
    emit_tree(b, rules + half, count - half);
}

/* The argument checks (on the low 32 bits); each ends in a return. */
static void emit_blocks(struct builder *b, bool all_caps)
{
    place(b, FIRST_BLOCK + ACT_IOCTL);
    load(b, ARG_LOW(1));
    jump_if(b, BPF_JEQ, TIOCSTI_NR, DENY_EPERM);
    jump_if(b, BPF_JEQ, TIOCLINUX_NR, DENY_EPERM);
    ret(b, SECCOMP_RET_ALLOW);
    place(b, FIRST_BLOCK + ACT_SOCKET);
    load(b, ARG_LOW(0));
    jump_if(b, BPF_JEQ, AF_ALG_NR, DENY_EPERM);
    jump_if(b, BPF_JEQ, AF_VSOCK_NR, DENY_EPERM);
    ret(b, SECCOMP_RET_ALLOW);
    place(b, FIRST_BLOCK + ACT_PERSONALITY);
    load(b, ARG_LOW(0));
    for (size_t i = 0; i < sizeof PERSONALITIES / sizeof PERSONALITIES[0]; i++)
        jump_if(b, BPF_JEQ, PERSONALITIES[i], ALLOW);
    ret(b, SECCOMP_RET_ERRNO | EPERM);
    place(b, FIRST_BLOCK + ACT_KEYCTL); /* see isolated_join_keyring: all of it, or EPERM */
    uint64_t site = (uint64_t)(uintptr_t)isolated_join_keyring_return;
    const unsigned equal[][2] = { { ARG_LOW(0), KEYCTL_JOIN_SESSION_KEYRING }, { ARG_LOW(1), 0 },
                                  { ARG_HIGH(1), 0 }, { IP_LOW, (unsigned)site },
                                  { IP_HIGH, (unsigned)(site >> 32) } };
    for (size_t i = 0; i < sizeof equal / sizeof equal[0]; i++) {
        load(b, equal[i][0]);
        emit(b, BPF_JMP | BPF_JEQ | BPF_K, NONE, DENY_EPERM, equal[i][1]);
    }
    ret(b, SECCOMP_RET_ALLOW);
    if (all_caps)
        return;
    place(b, FIRST_BLOCK + ACT_CLONE);
    load(b, ARG_LOW(0));
    jump_if(b, BPF_JSET, CLONE_NS_FLAGS, DENY_EPERM);
    ret(b, SECCOMP_RET_ALLOW);
    place(b, FIRST_BLOCK + ACT_UNSHARE);
    load(b, ARG_LOW(0));
    jump_if(b, BPF_JSET, UNSHARE_NS_FLAGS, DENY_EPERM);
    ret(b, SECCOMP_RET_ALLOW);
}

/* Appends the three returns and turns labels into relative jumps (forward only, 8 bits). */
static void finish(struct builder *b)
{
    place(b, ALLOW);
    ret(b, SECCOMP_RET_ALLOW);
    place(b, DENY_EPERM);
    ret(b, SECCOMP_RET_ERRNO | EPERM);
    place(b, DENY_ENOSYS);
    ret(b, SECCOMP_RET_ERRNO | ENOSYS);
    for (size_t i = 0; i < b->n && !b->overflow; i++) {
        size_t jt = b->jt_label[i] != NONE ? b->at[b->jt_label[i]] - i - 1 : b->insn[i].jt;
        size_t jf = b->jf_label[i] != NONE ? b->at[b->jf_label[i]] - i - 1 : b->insn[i].jf;
        if (jt > 255 || jf > 255)
            b->overflow = true;
        b->insn[i].jt = (unsigned char)jt;
        b->insn[i].jf = (unsigned char)jf;
    }
    if (b->overflow)
        b->n = 0;
}

static void add_rules(struct rule *rules, size_t *n, const int *nrs, size_t count, enum action a)
{
    for (size_t i = 0; i < count && *n < MAX_RULES; i++)
        rules[(*n)++] = (struct rule){ (unsigned)nrs[i], a };
}

static int by_nr(const void *a, const void *b)
{
    unsigned x = ((const struct rule *)a)->nr, y = ((const struct rule *)b)->nr;
    return x < y ? -1 : x > y;
}

static size_t collect_rules(struct rule *rules, bool all_caps)
{
    size_t n = 0;
    add_rules(rules, &n, ALWAYS_DENIED, sizeof ALWAYS_DENIED / sizeof ALWAYS_DENIED[0], ACT_EPERM);
    const int checked[] = { __NR_ioctl, __NR_socket, __NR_personality, __NR_keyctl };
    for (size_t i = 0; i < 4; i++)
        add_rules(rules, &n, &checked[i], 1, (enum action)(ACT_IOCTL + i));
    if (!all_caps) {
        add_rules(rules, &n, SYS_ADMIN_ONLY, sizeof SYS_ADMIN_ONLY / sizeof SYS_ADMIN_ONLY[0],
                  ACT_EPERM);
        const int clones[] = { __NR_clone3, __NR_clone, __NR_unshare };
        add_rules(rules, &n, &clones[0], 1, ACT_ENOSYS);
        add_rules(rules, &n, &clones[1], 1, ACT_CLONE);
        add_rules(rules, &n, &clones[2], 1, ACT_UNSHARE);
    }
    qsort(rules, n, sizeof *rules, by_nr);
    return n;
}

static void build(struct builder *b, bool all_caps)
{
    memset(b, 0, sizeof *b);
    b->next_label = FIRST_NODE;
#ifdef NATIVE_ARCH
    struct rule rules[MAX_RULES];
    size_t n = collect_rules(rules, all_caps);
    load(b, offsetof(struct seccomp_data, arch));
    emit(b, BPF_JMP | BPF_JEQ | BPF_K, NONE, DENY_ENOSYS, NATIVE_ARCH);
    load(b, offsetof(struct seccomp_data, nr));
#ifdef X32_BIT
    jump_if(b, BPF_JGE, X32_BIT, DENY_ENOSYS);
#endif
    jump_if(b, BPF_JGT, LAST_REVIEWED_NR, DENY_ENOSYS);
    emit_tree(b, rules, n);
    emit_blocks(b, all_caps);
    finish(b);
#else
    (void)all_caps;
#endif
}

int parse_seccomp_profile(const char *text, enum seccomp_profile *out)
{
    if (strcmp(text, "default") == 0)
        *out = SECCOMP_DEFAULT;
    else if (strcmp(text, "unconfined") == 0)
        *out = SECCOMP_UNCONFINED;
    else
        return -1;
    return 0;
}

const struct sock_fprog *default_seccomp_program(bool all_caps)
{
    static struct builder programs[2];
    static struct sock_fprog fprogs[2];
    int i = all_caps ? 1 : 0;
    if (!fprogs[i].filter) {
        build(&programs[i], all_caps);
        fprogs[i] = (struct sock_fprog){ (unsigned short)programs[i].n, programs[i].insn };
    }
    if (fprogs[i].len == 0) {
        errno = ENOSYS;
        return NULL;
    }
    return &fprogs[i];
}
