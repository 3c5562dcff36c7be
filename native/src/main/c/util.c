/*
 * util.c - the one error path, and small system helpers.
 *
 * - fail() records, die() stops: see util.h.
 * - Nothing here allocates after a failure is recorded; children die with one write().
 * - Allocation failures are fatal (x* allocators).
 */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int failure_sink = -1;

static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Out of file descriptors is the cause whatever the step: that hint comes first, also over a step's own. */
static bool out_of_fds(int err)
{
    return err == EMFILE || err == ENFILE;
}

static const char *default_hint(const char *stage, int err)
{
    if (err == EMFILE)
        return "the helper reached its limit of open files: close environments, or raise the "
               "JVM's limit (ulimit -n, LimitNOFILE= in a systemd unit)";
    if (err == ENFILE)
        return "the system's limit of open files is reached (sysctl fs.file-max)";
    if (strcmp(stage, "clone") == 0 && err == ENOSPC)
        return "a limit on namespaces is reached: sysctl user.max_user_namespaces (0 disables them), "
               "user.max_pid_namespaces, user.max_net_namespaces, user.max_mnt_namespaces..., or user "
               "namespaces nested 32 deep";
    if (strcmp(stage, "clone") == 0 && (err == EPERM || err == EACCES) && geteuid() == 0)
        return "the host refuses new namespaces even to root: root without CAP_SYS_ADMIN, or a "
               "seccomp filter refusing them (a container's defaults): docker run --cap-add SYS_ADMIN "
               "--security-opt seccomp=unconfined, or --privileged";
    if (strcmp(stage, "clone") == 0 && (err == EPERM || err == EACCES))
        return "namespaces need root, or user namespaces must be enabled: sysctl "
               "kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0";
    if (strcmp(stage, "uid-map") == 0)
        return "the user namespace is restricted (Ubuntu: sysctl "
               "kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile with userns)";
    if (strcmp(stage, "mount-rootfs") == 0 && err == ENOENT)
        return "the rootfs directory does not exist";
    if (strcmp(stage, "mount-proc") == 0 && err == EPERM)
        return "the outer /proc is masked (running in a container?): run it with /proc unmasked";
    if (strcmp(stage, "overlay") == 0)
        return "overlayfs is unavailable here: use --rootfs-mode copy (or auto)";
    if (strcmp(stage, "exec") == 0 && err == ENOENT)
        return "the command does not exist in the environment (the env's PATH is searched)";
    if (strcmp(stage, "exec") == 0 && err == EACCES)
        return "the command is not an executable file (a directory, or no execute permission), or a "
               "directory on its path cannot be searched";
    if (err == EPERM || err == EACCES)
        return "the host refused it: a file's permissions, a security policy (seccomp, AppArmor, "
               "SELinux) or a capability missing here; `isolated-helper probe` (from Java: "
               "HostSupport.probe()) names what this host refuses";
    return "";
}

const char *mounted_later_note(void)
{
    return geteuid() == 0 ? " (or it is on a file system mounted after the helper started, which a root helper "
                            "does not see where the host's / is not a shared mount: mount it first, or run "
                            "mount --make-rshared /)"
                          : "";
}

int fail(struct failure *f, const char *stage, const char *syscall, const char *path,
         const char *hint_fmt, ...)
{
    int saved = errno;
    memset(f, 0, sizeof *f);
    copy_field(f->stage, sizeof f->stage, stage);
    copy_field(f->syscall, sizeof f->syscall, syscall);
    copy_field(f->path, sizeof f->path, path);
    f->err = saved;
    if (hint_fmt && !out_of_fds(saved)) {
        va_list ap;
        va_start(ap, hint_fmt);
        vsnprintf(f->hint, sizeof f->hint, hint_fmt, ap);
        va_end(ap);
    } else {
        copy_field(f->hint, sizeof f->hint, default_hint(stage, saved));
    }
    errno = saved;
    return -1;
}

int set_failure_sink(int fd)
{
    int previous = failure_sink;
    failure_sink = fd;
    return previous;
}

void failure_message(const struct failure *f, char *buf, size_t size)
{
    const char *abbrev = f->signal ? sigabbrev_np(f->signal) : NULL;
    if (f->signal)
        snprintf(buf, size, "%s%skilled by signal %d (SIG%s) before it could exec", f->path, f->path[0] ? ": " : "",
                 f->signal, abbrev ? abbrev : "UNKNOWN");
    else
        snprintf(buf, size, "%s%s%s: %s", f->syscall, f->path[0] ? " " : "", f->path,
                 f->err ? strerror(f->err) : "failed");
}

void print_failure(const struct failure *f)
{
    char message[sizeof f->syscall + sizeof f->path + 128];
    failure_message(f, message, sizeof message);
    fprintf(stderr, "isolated-helper: %s: %s\n", f->stage, message);
    if (f->hint[0])
        fprintf(stderr, "hint: %s\n", f->hint);
}

NORETURN void die_with(const struct failure *f, int exit_code)
{
    if (failure_sink >= 0) {
        struct status_msg msg = { .tag = 'e', .value = exit_code, .failure = *f };
        (void)write_all(failure_sink, &msg, sizeof msg);
        _exit(exit_code);
    }
    print_failure(f);
    exit(exit_code);
}

NORETURN void die(const char *stage, const char *syscall, const char *path,
                  const char *hint_fmt, ...)
{
    struct failure f;
    int saved = errno;
    fail(&f, stage, syscall, path, NULL);
    if (hint_fmt && !out_of_fds(saved)) {
        va_list ap;
        va_start(ap, hint_fmt);
        vsnprintf(f.hint, sizeof f.hint, hint_fmt, ap);
        va_end(ap);
    }
    f.err = saved;
    die_with(&f, EXIT_SETUP_FAILED);
}

const char *errno_name(int err)
{
    const char *name = strerrorname_np(err);
    return name ? name : "EUNKNOWN";
}

void send_status(int fd, char tag, int value)
{
    struct status_msg msg = { .tag = tag, .value = value };
    (void)write_all(fd, &msg, sizeof msg);
}

int read_status(int fd, struct status_msg *msg)
{
    ssize_t n = read_all(fd, msg, sizeof *msg);
    if (n == 0)
        return 0;
    if (n != (ssize_t)sizeof *msg)
        return -1;
    return 1;
}

ssize_t send_with_control(int fd, const void *data, size_t len, int type, const void *payload, size_t size)
{
    union {
        char buf[CMSG_SPACE(CONTROL_MAX)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = { (void *)data, len };
    struct msghdr hdr = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = CMSG_SPACE(size) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&hdr);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(size);
    memcpy(CMSG_DATA(c), payload, size);
    ssize_t n;
    while ((n = sendmsg(fd, &hdr, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    return n;
}

void announce_self(int fd, char tag)
{
    struct status_msg msg = { .tag = tag, .value = getpid() };
    struct ucred cred = { .pid = getpid(), .uid = getuid(), .gid = getgid() };
    (void)send_with_control(fd, &msg, sizeof msg, SCM_CREDENTIALS, &cred, sizeof cred);
}

ssize_t recv_with_control(int fd, void *data, size_t len, int type, void *payload, size_t size, size_t *got)
{
    union {
        char buf[CMSG_SPACE(CONTROL_MAX)];
        struct cmsghdr align;
    } control;
    struct iovec iov = { data, len };
    struct msghdr hdr = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    ssize_t n;
    *got = 0;
    while ((n = recvmsg(fd, &hdr, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&hdr) : NULL; c; c = CMSG_NXTHDR(&hdr, c)) {
        size_t have = c->cmsg_len - CMSG_LEN(0);
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != type || *got)
            continue;
        memcpy(payload, CMSG_DATA(c), have < size ? have : size);
        for (size_t at = size; type == SCM_RIGHTS && at + sizeof(int) <= have; at += sizeof(int)) {
            int extra;
            memcpy(&extra, CMSG_DATA(c) + at, sizeof extra);
            close(extra);
        }
        *got = have;
    }
    return n;
}

int recv_status(int fd, struct status_msg *msg, pid_t *sender)
{
    struct ucred cred;
    size_t got;
    ssize_t n = recv_with_control(fd, msg, sizeof *msg, SCM_CREDENTIALS, &cred, sizeof cred, &got);
    if (n <= 0)
        return (int)n;
    *sender = got == sizeof cred ? cred.pid : -1;
    return n == (ssize_t)sizeof *msg ? 1 : -1;
}

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads until len bytes or EOF; returns the count, or -1. */
ssize_t read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int parse_integer(const char *text, int base, long long min, long long max, long long *out)
{
    const char *digits = text + (text[0] == '-' && min < 0);
    size_t n = strspn(digits, base == 8 ? "01234567" : "0123456789");
    char *end;
    errno = 0;
    long long v = n > 0 && !digits[n] ? strtoll(text, &end, base) : 0;
    if (n == 0 || digits[n] || errno || v < min || v > max) {
        errno = EINVAL;
        return -1;
    }
    *out = v;
    return 0;
}

int join_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int make_dirs(const char *path, mode_t mode)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int remove_tree_at(int parent, const char *name)
{
    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -1;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rc |= remove_tree_at(dirfd(dir), e->d_name);
    }
    closedir(dir);
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

/* rm -rf without following symlinks; the path itself must not be a mount point in use. */
int remove_tree(const char *path)
{
    return remove_tree_at(AT_FDCWD, path);
}

long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void *xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) {
        fputs("isolated-helper: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p) {
        fputs("isolated-helper: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fputs("isolated-helper: out of memory\n", stderr);
        abort();
    }
    return out;
}

/* close_range() (Linux 5.9); older kernels get a walk over /proc/self/fd. keep may be -1. */
void close_fds_above(int lowest, int keep)
{
    int rc = 0;
    if (keep < lowest) {
        rc = close_range((unsigned)lowest, ~0U, 0);
    } else {
        if (keep > lowest)
            rc = close_range((unsigned)lowest, (unsigned)keep - 1, 0);
        if (rc == 0)
            rc = close_range((unsigned)keep + 1, ~0U, 0);
    }
    if (rc == 0)
        return;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) {
        for (int fd = lowest; fd < 1024; fd++)
            if (fd != keep)
                close(fd);
        return;
    }
    for (struct dirent *e; (e = readdir(dir));) {
        int fd = atoi(e->d_name);
        if (fd >= lowest && fd != keep && fd != dirfd(dir))
            close(fd);
    }
    closedir(dir);
}

/* Signals this process set to SIG_IGN after reset_all_signals(): the only dispositions an
 * exec keeps (handlers are reset by exec itself), so the only ones a child must undo. */
static sigset_t ignored_since_start;

/* The JVM (and other parents) may leave signals blocked or ignored; start from a clean slate.
 * The raw syscall, because glibc's sigaction() refuses its own two real-time signals (32, 33),
 * which the JVM leaves ignored. */
void reset_all_signals(void)
{
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = { SIG_DFL, 0, NULL, 0 };
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    sigemptyset(&ignored_since_start);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

void ignore_signal(int sig)
{
    signal(sig, SIG_IGN);
    sigaddset(&ignored_since_start, sig);
}

/* Before an exec: a few syscalls instead of one per signal (this runs for every command). */
void reset_signal_state(void)
{
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&ignored_since_start, sig) == 1)
            signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A closed 0/1/2 would let a pipe land there and be clobbered by dup2 later. */
void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int null = open("/dev/null", O_RDWR);
            if (null >= 0 && null != fd) {
                dup2(null, fd);
                close(null);
            }
        }
    }
}
