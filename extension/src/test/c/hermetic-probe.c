/*
 * hermetic-probe.c - test-only: tries what a hostile payload would try, one attempt per argument,
 * and prints `NAME=ok` or `NAME=ERRNAME` per attempt, then `probe-done` (so a probe that did not
 * run is told apart from one that was refused). `keyring` prints `keyring=ID` (the session keyring
 * it possesses, not created), `capbnd` prints `capbnd=HEX` (the bounding set, read with prctl:
 * an environment without mount has no /proc). Arguments are chosen so that an unfiltered kernel answers with
 * another errno than EPERM where it can (bad flags after the permission check), and never with
 * an effect on the host (kexec with invalid flags, reboot with a bad magic).
 * The security suite (dev.isolated.security) adds: `cat=PATH` (prints `cat=ok:<first bytes>`), `open=PATH`,
 * `ptrace=PID` (PTRACE_SEIZE: never stops the target), `shm-create=KEY`/`shm-find=KEY` (SysV shared memory),
 * `shocker` (open_by_handle_at of inode 2 against `/`, as the Shocker exploit does) and
 * `sniff=MARKER` (a packet socket on every interface for 1.5 s, sending itself UDP on 127.0.0.1 as a control:
 * prints `sniff-self=yes|no` and `sniff-host=yes|no`, whether a packet holding `outside-MARKER` was seen).
 * Clock and syslog attempts write what is already there, or fail with EINVAL after the permission check.
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
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

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
    case ESRCH: return "ESRCH";
    case EROFS: return "EROFS";
    case ENXIO: return "ENXIO";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
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
    if (strcmp(what, "settimeofday") == 0) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        return settimeofday(&tv, NULL);
    }
    if (strcmp(what, "clock_settime") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return clock_settime(CLOCK_REALTIME, &ts);
    }
#ifdef __NR_iopl
    if (strcmp(what, "iopl") == 0)
        return syscall(__NR_iopl, 3);
    if (strcmp(what, "ioperm") == 0)
        return syscall(__NR_ioperm, 0x80, 1, 1);
#endif
    if (strcmp(what, "swapon") == 0)
        return syscall(__NR_swapon, "/isolated-no-such-swap", 0);
    if (strcmp(what, "syslog") == 0)
        return syscall(__NR_syslog, 8 /* CONSOLE_LEVEL */, NULL, 0); /* EINVAL (len 0) after the check */
    if (strcmp(what, "acct") == 0)
        return syscall(__NR_acct, "/isolated-no-such-file");
    if (strcmp(what, "finit_module") == 0)
        return syscall(__NR_finit_module, -1, "", 0);
    if (strcmp(what, "delete_module") == 0)
        return syscall(__NR_delete_module, "isolated_no_such_module", 0);
    if (strcmp(what, "pivot_root") == 0)
        return syscall(__NR_pivot_root, "/", "/");
    if (strcmp(what, "mount-tmpfs") == 0)
        return mount("none", "/tmp", "tmpfs", 0, NULL);
    if (strcmp(what, "sethostname") == 0)
        return sethostname("isolated-attack", 15);
    if (strcmp(what, "unshare-mount") == 0)
        return syscall(__NR_unshare, 0x00020000);
    if (strcmp(what, "setns-init") == 0) {
        int fd = open("/proc/1/ns/mnt", O_RDONLY);
        return fd < 0 ? -1 : syscall(__NR_setns, fd, 0);
    }
    if (strcmp(what, "personality") == 0)
        return syscall(__NR_personality, 0x0040000 /* ADDR_NO_RANDOMIZE */);
    if (strcmp(what, "mknod-mem") == 0)
        return mknod("/tmp/isolated-mem", S_IFCHR | 0600, makedev(1, 1));
    if (strcmp(what, "shocker") == 0) {
        struct { unsigned int bytes; int type; unsigned char f[8]; } h = { 8, 1 /* FILEID_INO32_GEN */, {2, 0, 0, 0} };
        int root = open("/", O_RDONLY | O_DIRECTORY);
        return syscall(__NR_open_by_handle_at, root, &h, O_RDONLY);
    }
    errno = EINVAL;
    return -1;
}

/* `cat=PATH`: open and read it; prints cat=ok:<up to 200 bytes, newlines as |> or cat=ERRNO. */
static void cat(const char *path)
{
    char buf[201];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, 200);
    if (n < 0) {
        report("cat", -1);
        return;
    }
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\n' || buf[i] == 0)
            buf[i] = '|';
    printf("cat=ok:%s\n", buf);
}

/* `sniff=MARKER`: a packet socket on every interface, 1.5 s; UDP to 127.0.0.1:9 of its own as the control. */
static void sniff(const char *marker)
{
    int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (s < 0) {
        report("sniff", -1);
        return;
    }
    struct timeval tv = { 0, 100000 };
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    char want[128], self[128], buf[65536];
    snprintf(want, sizeof want, "outside-%s", marker);
    snprintf(self, sizeof self, "inside-%s", marker);
    int seen_self = 0, seen_host = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        sendto(u, self, strlen(self), 0, (struct sockaddr *)&to, sizeof to);
        ssize_t n;
        while ((n = recv(s, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
            if (memmem(buf, n, self, strlen(self)))
                seen_self = 1;
            if (memmem(buf, n, want, strlen(want)))
                seen_host = 1;
        }
        usleep(50000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 1500);
    printf("sniff-self=%s\nsniff-host=%s\n", seen_self ? "yes" : "no", seen_host ? "yes" : "no");
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
        } else if (strcmp(argv[i], "user-keyring") == 0) {
            long id = syscall(__NR_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
            if (id < 0)
                report("user-keyring", -1);
            else
                printf("user-keyring=%ld\n", id);
        } else if (strcmp(argv[i], "capbnd") == 0) {
            unsigned long long mask = 0;
            for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
                    mask |= 1ull << cap;
            printf("capbnd=%016llx\n", mask);
        } else if (strncmp(argv[i], "cat=", 4) == 0) {
            cat(argv[i] + 4);
        } else if (strncmp(argv[i], "open=", 5) == 0) {
            int fd = open(argv[i] + 5, O_RDONLY);
            report("open", fd);
        } else if (strncmp(argv[i], "ptrace=", 7) == 0) {
            pid_t pid = atoi(argv[i] + 7);
            long rc = ptrace(PTRACE_SEIZE, pid, NULL, NULL);
            report("ptrace", rc);
            if (rc == 0)
                ptrace(PTRACE_DETACH, pid, NULL, NULL);
        } else if (strncmp(argv[i], "shm-create=", 11) == 0) {
            report("shm-create", shmget((key_t)atoi(argv[i] + 11), 4096, IPC_CREAT | 0600));
        } else if (strncmp(argv[i], "shm-find=", 9) == 0) {
            report("shm-find", shmget((key_t)atoi(argv[i] + 9), 0, 0));
        } else if (strncmp(argv[i], "sniff=", 6) == 0) {
            sniff(argv[i] + 6);
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
