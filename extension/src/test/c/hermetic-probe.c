/*
 * hermetic-probe.c - test-only: tries what a hostile payload would try, one attempt per argument,
 * and prints `NAME=ok` or `NAME=ERRNAME` per attempt, then `probe-done` (so a probe that did not
 * run is told apart from one that was refused). `keyring` prints `keyring=ID` (the session keyring
 * it possesses, not created), `capbnd` prints `capbnd=HEX` (the bounding set, read with prctl:
 * an environment without mount has no /proc). Arguments are chosen so that an unfiltered kernel answers with
 * another errno than EPERM where it can (bad flags after the permission check), and never with
 * an effect on the host (kexec with invalid flags, reboot with a bad magic).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif

static const char *errname(int e)
{
    switch (e) {
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EBADF: return "EBADF";
    case ENOTTY: return "ENOTTY";
    case ENOKEY: return "ENOKEY";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E%d", e);
        return buf;
    }
    }
}

static void report(const char *name, long rc)
{
    if (rc < 0)
        printf("%s=%s\n", name, errname(errno));
    else
        printf("%s=ok\n", name);
}

/* The classic chroot escape: chroot into a subdirectory, climb out of it, chroot there. */
static void chroot_escape(void)
{
    mkdir("/escape", 0755);
    if (chroot("/escape") < 0) {
        report("chroot", -1);
        return;
    }
    printf("chroot=ok\n");
    for (int i = 0; i < 64; i++)
        if (chdir("..") < 0)
            break;
    report("chroot-dot", chroot("."));
}

static long attempt(const char *what)
{
    char c = 'x';
    if (strcmp(what, "add_key") == 0)
        return syscall(__NR_add_key, "user", "isolated-probe", "x", 1, KEY_SPEC_SESSION_KEYRING);
    if (strcmp(what, "keyctl") == 0)
        return syscall(__NR_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    if (strcmp(what, "request_key") == 0)
        return syscall(__NR_request_key, "user", "isolated-probe-none", NULL, 0);
    if (strcmp(what, "bpf") == 0)
        return syscall(__NR_bpf, -1, NULL, 0);
    if (strcmp(what, "perf_event_open") == 0)
        return syscall(__NR_perf_event_open, NULL, 0, -1, -1, 0);
    if (strcmp(what, "userfaultfd") == 0)
        return syscall(__NR_userfaultfd, -1);
    if (strcmp(what, "init_module") == 0)
        return syscall(__NR_init_module, NULL, 0, "");
    if (strcmp(what, "kexec_load") == 0)
        return syscall(__NR_kexec_load, 0, 0, NULL, 0xdead0000UL);
    if (strcmp(what, "open_by_handle_at") == 0)
        return syscall(__NR_open_by_handle_at, -1, NULL, 0);
    if (strcmp(what, "io_uring_setup") == 0)
        return syscall(__NR_io_uring_setup, 0, NULL);
    if (strcmp(what, "reboot") == 0)
        return syscall(__NR_reboot, 0, 0, 0, NULL);
    if (strcmp(what, "tiocsti") == 0)
        return ioctl(0, TIOCSTI, &c);
    if (strcmp(what, "unshare-user") == 0)
        return syscall(__NR_unshare, 0x10000000);
    if (strcmp(what, "packet-socket") == 0)
        return socket(AF_PACKET, SOCK_RAW, 0);
    if (strcmp(what, "raw-socket") == 0)
        return socket(AF_INET, SOCK_RAW, 1 /* ICMP */);
    if (strcmp(what, "alg-socket") == 0)
        return socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0);
    errno = EINVAL;
    return -1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "keyring") == 0) {
            long id = syscall(__NR_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
            if (id < 0)
                report("keyring", -1);
            else
                printf("keyring=%ld\n", id);
        } else if (strcmp(argv[i], "capbnd") == 0) {
            unsigned long long mask = 0;
            for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
                    mask |= 1ull << cap;
            printf("capbnd=%016llx\n", mask);
        } else if (strcmp(argv[i], "chroot-escape") == 0) {
            chroot_escape();
        } else {
            report(argv[i], attempt(argv[i]));
        }
        fflush(stdout);
    }
    printf("probe-done\n");
    return 0;
}
