/*
 * env.c - creating an environment and its init.
 *
 * - One clone3() creates every requested namespace at once; the child is the env's "init".
 *   Every env has a cgroup where one can be made (cgroup.c: it tracks the env's processes, and
 *   holds its limits). It is cloned into it (CLONE_INTO_CGROUP, v2) or moved there by the helper
 *   before it is released; a cgroup namespace is then unshared by the init itself, so that
 *   its root is the env's cgroup.
 * - Time offsets: a time namespace only takes offsets before any process entered it, and
 *   clone3(CLONE_NEWTIME) would enter it at once. So the init, already root in its user
 *   namespace, unshare()s CLONE_NEWTIME (only its future children would enter), writes
 *   /proc/self/timens_offsets, then setns()es itself into time_for_children.
 * - Every env has a user namespace. As real root it maps 0..65535 to a host range of the env's
 *   own (idrange.c), taken before the clone and freed after the env's cgroup; the init drops
 *   the JVM's groups and becomes 0 inside before opening any path (usermap.c take_root_ids()).
 * - The init blocks on a socket until the helper wrote its uid/gid maps (usermap.c: itself, or
 *   newuidmap/newgidmap for user-map=subids); as root the helper then idmaps the rootfs to the
 *   init's user namespace (mounts.c) and passes that mount's fd along with the go byte
 *   (SCM_RIGHTS). Without mount it builds the chroot tree from it itself, before the go byte,
 *   which then names the rootfs mode used ('o' overlay, 'c' copy). The init then builds the root
 *   (private tmpfs, overlay or copy, /dev, pivot_root, /proc, /tmp), hostname and loopback.
 * - An env of a rootless private network is created inside the network's user namespace
 *   (parent_userns_fd, see net.c): an intermediate setns()es into it and clones the init from
 *   there with the same flags plus CLONE_PARENT (so the init is still the helper's child, reaped
 *   and killed as any other), moves it into its cgroup unless CLONE_INTO_CGROUP did, writes its
 *   maps (usermap.c, nested: only a process in the parent user namespace may), reports the pid
 *   and exits. The env's user namespace is thus a child of the network's; nothing else differs.
 * - Readiness: the init writes one status message ('r' + the rootfs mode, or 'e' + a struct
 *   failure) on a CLOEXEC pipe. Before 'r' it reports ('u') the number of its O_PATH fd of the
 *   writable layer (overlay upper dir, or the copied root), which it keeps open for its whole
 *   life (never in its namespace's view). env_start() only clones and releases the init (maps,
 *   cgroup placement: quick); the caller polls env->report_fd and calls env_advance() for each
 *   message (serve: asynchronous CREATE). env_create() is both, blocking (the command line).
 * - The init then only reaps orphans, forwards SIGTERM/SIGINT/SIGHUP/SIGUSR1/SIGUSR2 to
 *   the namespace, and exits when the helper goes away (PDEATHSIG, and EOF on a pipe).
 *   When the init (PID 1) exits, the kernel kills everything in its PID namespace.
 * - Without pid nothing kills a process that double-forked away (reparented to the host's init)
 *   but its cgroup (cgroup_kill(), where there is one). For an env without one, once ready,
 *   the helper pins (dup + fstat) every namespace the env unshared, and at the end
 *   env_kill_strays() SIGKILLs every /proc entry whose /proc/P/ns/KIND is one of them
 *   (same st_dev/st_ino), rescanning until none is left. An env without any namespace (a mere
 *   chroot) cannot be told apart from the host: its strays survive. The same holds for a
 *   command that joins an env with pid but not its pid namespace (`enter`): before the first
 *   such command of an env without a cgroup the helper pins its other namespaces
 *   (env_pin_for_outside_pid()), since the init's death does not reach that command.
 */
#include "env.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <linux/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mounts.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

const struct ns_info NAMESPACES[NS_COUNT] = {
    [NS_USER] = { "user", "user", CLONE_NEWUSER },
    [NS_PID] = { "pid", "pid", CLONE_NEWPID },
    [NS_MOUNT] = { "mount", "mnt", CLONE_NEWNS },
    [NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
    [NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
    [NS_NET] = { "net", "net", CLONE_NEWNET },
    [NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
    [NS_TIME] = { "time", "time", CLONE_NEWTIME },
};

static const char INIT_NAME[] = "isolated-init";
static const char DEFAULT_HOSTNAME[] = "isolated"; /* an env with uts and no hostname */

#define STRAY_ROUNDS 50       /* scans of /proc at most, in env_kill_strays() */
#define STRAY_PAUSE_NS 5000000L /* between two scans that found something: 5 ms */

/* The helper's own argv area, overwritten by the init so that `ps` inside shows its name. */
static char *argv_area;
static size_t argv_area_size;

void remember_argv(int argc, char **argv)
{
    if (argc < 1)
        return;
    argv_area = argv[0];
    argv_area_size = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
}

int parse_ns_list(const char *list, unsigned *out, char *bad, size_t bad_size)
{
    unsigned bits = 0;
    char *copy = xstrdup(list), *save = NULL;
    for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
        int found = -1;
        for (int i = 0; i < NS_COUNT; i++)
            if (strcmp(word, NAMESPACES[i].name) == 0 || strcmp(word, NAMESPACES[i].proc_name) == 0)
                found = i;
        if (found < 0) {
            snprintf(bad, bad_size, "%s", word);
            free(copy);
            return -1;
        }
        bits |= NS_BIT(found);
    }
    free(copy);
    *out = bits;
    return 0;
}

int parse_rootfs_mode(const char *text, enum rootfs_mode *out)
{
    static const char *const names[] = { "auto", "overlay", "copy" };
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (enum rootfs_mode)i;
            return 0;
        }
    }
    return -1;
}

const char *rootfs_mode_name(enum rootfs_mode mode)
{
    return mode == ROOTFS_OVERLAY ? "overlay" : mode == ROOTFS_COPY ? "copy" : "auto";
}

int make_helper_mounts_private(struct failure *f)
{
    if (geteuid() != 0)
        return 0;
    if (unshare(CLONE_NEWNS) < 0)
        return fail(f, "mount-private", "unshare", "CLONE_NEWNS", errno != EPERM ? NULL :
                    "root without CAP_SYS_ADMIN, or a seccomp filter refusing unshare (a container's defaults): "
                    "docker run --cap-add SYS_ADMIN, GitLab "
                    "cap_add = [\"SYS_ADMIN\"], Kubernetes capabilities.add: [SYS_ADMIN]; or run the tests as "
                    "another user (isolated-helper probe)");
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return fail(f, "mount-private", "mount", "/", NULL);
    return 0;
}

/* ---- the init (child side) ---- */

struct init_pipes {
    int go;     /* read: one byte once the maps are written; EOF if the helper died */
    int report; /* write: the status message */
    int life;   /* read: EOF when the helper is gone */
};

void set_process_name(const char *name)
{
    size_t size = strlen(name) + 1;
    prctl(PR_SET_NAME, name, 0, 0, 0);
    if (argv_area && argv_area_size > size) {
        memset(argv_area, 0, argv_area_size);
        memcpy(argv_area, name, size);
    }
}

/* root and subids (and every mode as real root): 0 inside; self: already the caller's ids
 * (the maps made them visible). */
static void become_mapped_user(enum user_map map)
{
    if (map == USER_MAP_SELF)
        return;
    if (take_root_ids() < 0)
        die("uid-map", "setresuid", "0", "the uid or gid map was not applied");
}

/* The fds that may come with the go byte: the rootfs (or, without mount, the writable layer and
 * the root), each layer= and the upper-dir=. */
#define GO_FDS (2 + MAX_LAYERS + 1)

/* The go byte and, as root, fds with it (fds[i], else -1), in order: with mount the idmapped
 * rootfs, each layer's, the upper dir's clone; without, the writable layer and the root dir
 * the helper built. 1 if read. */
static int receive_go(int sock, char *go, int fds[GO_FDS])
{
    char control[CMSG_SPACE(GO_FDS * sizeof(int))];
    struct iovec iov = { .iov_base = go, .iov_len = 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                          .msg_controllen = sizeof control };
    for (int i = 0; i < GO_FDS; i++)
        fds[i] = -1;
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        memcpy(fds, CMSG_DATA(c), c->cmsg_len - CMSG_LEN(0));
    return n == 1 ? 1 : 0;
}

/* Releases the init: the go byte, with the fds[] >= 0 attached (in order, the first -1 ends them). */
static int send_go(int sock, char go, const int fds[GO_FDS])
{
    size_t n = 0;
    while (n < GO_FDS && fds[n] >= 0)
        n++;
    if (n == 0)
        return send(sock, &go, 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
    return send_with_control(sock, &go, 1, SCM_RIGHTS, fds, n * sizeof(int)) == 1 ? 0 : -1;
}

/* PDEATHSIG is cleared by credential changes, so it is set after them; and it is not sent if
 * the parent died before the prctl, hence the check that the helper's pipe end is still open.
 * (getppid() is 0 in a new PID namespace and cannot tell.) */
static void die_with_helper(int life_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct pollfd p = { .fd = life_fd, .events = POLLIN };
    if (poll(&p, 1, 0) != 0)
        _exit(1);
}

static void set_hostname(const char *name)
{
    if (sethostname(name, strlen(name)) < 0)
        die("hostname", "sethostname", name, NULL);
}

/* A new network namespace has only `lo`, and it is down. */
static void bring_up_loopback(void)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        die("loopback", "socket", "lo", NULL);
    struct ifreq req = { 0 };
    snprintf(req.ifr_name, sizeof req.ifr_name, "lo");
    if (ioctl(sock, SIOCGIFFLAGS, &req) < 0)
        die("loopback", "ioctl(SIOCGIFFLAGS)", "lo", NULL);
    req.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(sock, SIOCSIFFLAGS, &req) < 0)
        die("loopback", "ioctl(SIOCSIFFLAGS)", "lo", NULL);
    close(sock);
}

static void or_die(int rc, const struct failure *f)
{
    if (rc < 0)
        die_with(f, EXIT_SETUP_FAILED);
}

/* FDS (as root, else all -1): the idmapped rootfs, each layer's, the upper dir's clone. */
static enum rootfs_mode build_pivoted_root(const struct env_spec *spec, const int fds[GO_FDS],
                                           int *layer_fd)
{
    struct failure f;
    enum rootfs_mode used = ROOTFS_COPY;
    char root[JOINED_SIZE(spec->scratch, "root")];
    snprintf(root, sizeof root, "%s/root", spec->scratch);
    bool userns = spec->ns & NS_BIT(NS_USER), as_root = fds[0] >= 0;
    struct layer_plan plan = { .paths = spec->layers, .fds = as_root ? fds + 1 : NULL,
                               .n = spec->n_layers, .upper_dir = spec->upper_dir,
                               .upper_fd = as_root && spec->upper_dir ? fds[1 + spec->n_layers] : -1,
                               .tmpfs_size = spec->tmpfs_size };
    or_die(make_root_private(&f), &f);
    or_die(prepare_writable_root(spec->rootfs, fds[0], spec->scratch, spec->mode, true, userns,
                                 &plan, &used, layer_fd, &f), &f);
    for (int i = 0; i < GO_FDS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    or_die(ensure_mount_point(root, "proc", "mount-proc", &f), &f);
    or_die(ensure_mount_point(root, "tmp", "mount-tmp", &f), &f);
    or_die(mount_dev(root, &f), &f);
    or_die(mount_proc(root, spec->ns & NS_BIT(NS_PID), &f), &f);
    or_die(mount_tmp(root, &f), &f);
    or_die(mount_extras(root, spec->mounts, spec->n_mounts, &f), &f);
    or_die(pivot_into(root, &f), &f);
    if (spec->readonly_root)
        or_die(remount_root_readonly(&f), &f);
    return used;
}

/* Without a mount namespace the helper prepared the tree; the init can only chroot. As root
 * the helper opened the layer and the root (FDS): the init, already 0 in its range, may not
 * search the helper's state directory. */
static void enter_chroot(const char *scratch, enum rootfs_mode used, const int fds[2],
                         int *layer_fd)
{
    struct failure f;
    char root[JOINED_SIZE(scratch, "root")];
    snprintf(root, sizeof root, "%s/root", scratch);
    if (fds[1] >= 0) {
        *layer_fd = fds[0];
        if (fchdir(fds[1]) < 0 || chroot(".") < 0)
            die("chroot", "chroot", root, NULL);
        close(fds[1]);
    } else {
        or_die(*layer_fd = open_writable_layer(scratch, used, &f), &f);
        if (chroot(root) < 0)
            die("chroot", "chroot", root, NULL);
    }
    if (chdir("/") < 0)
        die("chroot", "chdir", "/", NULL);
}

static void enter_time_namespace(const struct env_spec *spec)
{
    char offsets[128];
    if (unshare(CLONE_NEWTIME) < 0)
        die("time", "unshare", "CLONE_NEWTIME", "time namespaces need Linux 5.6");
    snprintf(offsets, sizeof offsets, "monotonic %lld 0\nboottime %lld 0\n",
             spec->monotonic_offset, spec->boottime_offset);
    /* As root the init changed its euid to the range's: no longer dumpable, its /proc files belong
     * to host root; dumpable for the write only (mm->user_ns is the host's). */
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    int rc = write_file("/proc/self/timens_offsets", offsets);
    prctl(PR_SET_DUMPABLE, dumpable > 0 ? dumpable : 0, 0, 0, 0);
    /* The kernel takes an offset whose clock stays within 0 .. KTIME_SEC_MAX / 2 (about 146 years). */
    if (rc < 0)
        die("time", "write", "/proc/self/timens_offsets",
            errno == EPERM ? "setting clock offsets needs CAP_SYS_TIME in the time namespace's user namespace"
                           : "an offset must keep its clock between 0 and about 146 years (4611686018 s): a "
                             "negative one at most the time since the host booted (/proc/uptime), a positive "
                             "one well below 146 years");
    int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWTIME) < 0)
        die("time", "setns", "/proc/self/ns/time_for_children", NULL);
    close(fd);
}

/* The namespaces that clone3() could not create the right way (see the header). */
static void unshare_late_namespaces(const struct env_spec *spec, bool in_cgroup)
{
    if ((spec->ns & NS_BIT(NS_CGROUP)) && in_cgroup && unshare(CLONE_NEWCGROUP) < 0)
        die("clone", "unshare", "CLONE_NEWCGROUP", NULL);
    if (spec->time_offsets)
        enter_time_namespace(spec);
}

static void forward_signal(int sig, bool is_pid1)
{
    if (is_pid1)
        kill(-1, sig); /* as PID 1, -1 means every other process of the namespace */
    else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
        _exit(0);
}

/* The writable layer's fd, moved to 4 or above (run_init_loop() fills 0..3), is reported
 * ('u') before ready: the JVM reads /proc/INIT/fd/N as long as the env lives. */
static int report_layer_fd(int report, int layer_fd)
{
    int moved = fcntl(layer_fd, F_DUPFD_CLOEXEC, 4);
    if (moved < 0)
        die("mount-rootfs", "fcntl", "F_DUPFD (writable layer)", NULL);
    close(layer_fd);
    send_status(report, 'u', moved);
    return moved;
}

/* The init's whole job after setup. Every signal is blocked and read from a signalfd. The
 * init keeps only /dev/null (0..2), the helper's pipe (3) and the writable layer's fd. */
static NORETURN void run_init_loop(int life_fd, int null_fd, int layer_fd, bool is_pid1)
{
    for (int fd = 0; fd < 3; fd++)
        dup2(null_fd, fd);
    if (dup2(life_fd, 3) < 0)
        _exit(1);
    close_fds_above(4, layer_fd);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    int sfd = signalfd(-1, &all, SFD_CLOEXEC);
    if (sfd < 0)
        _exit(1);
    for (;;) {
        struct pollfd p[2] = { { .fd = 3, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
        if (poll(p, 2, -1) < 0)
            continue;
        if (p[0].revents)
            _exit(0); /* EOF: the helper is gone */
        struct signalfd_siginfo si;
        if (!(p[1].revents & POLLIN) || read(sfd, &si, sizeof si) != sizeof si)
            continue;
        if (si.ssi_signo == SIGCHLD)
            while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP ||
                 si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2)
            forward_signal((int)si.ssi_signo, is_pid1);
    }
}

static NORETURN void init_main(const struct env_spec *spec, struct init_pipes pipes,
                               bool in_cgroup)
{
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    set_failure_sink(pipes.report);
    char go;
    int fds[GO_FDS];
    if (receive_go(pipes.go, &go, fds) != 1)
        _exit(1); /* the helper died, or failed to write the maps */
    close(pipes.go);
    if (spec->ns & NS_BIT(NS_USER))
        become_mapped_user(spec->user_map);
    die_with_helper(pipes.life);
    join_new_session_keyring(); /* not the helper's (the JVM's): see harden.c */
    unshare_late_namespaces(spec, in_cgroup);
    enum rootfs_mode used;
    int layer_fd = -1;
    if (spec->ns & NS_BIT(NS_MOUNT)) {
        used = build_pivoted_root(spec, fds, &layer_fd);
    } else { /* the helper already chose, see env_create() (as root: after the clone) */
        used = go == 'o' ? ROOTFS_OVERLAY : go == 'c' ? ROOTFS_COPY : spec->mode;
        enter_chroot(spec->scratch, used, fds, &layer_fd);
    }
    if (spec->hostname)
        set_hostname(spec->hostname);
    else if (spec->ns & NS_BIT(NS_UTS))
        set_hostname(DEFAULT_HOSTNAME); /* a new UTS namespace starts with the host's name: hide it */
    if (spec->ns & NS_BIT(NS_NET))
        bring_up_loopback();
    set_process_name(INIT_NAME); /* last: spec's strings may live in the argv area it overwrites */
    layer_fd = report_layer_fd(pipes.report, layer_fd);
    send_status(pipes.report, 'r', (int)used);
    close(pipes.report);
    run_init_loop(pipes.life, null_fd, layer_fd, spec->ns & NS_BIT(NS_PID));
}

/* ---- the helper (parent side) ---- */

/* The kernel's struct clone_args, version 2 (88 bytes; version 0 is the first 64). */
struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

/* fork()-like (no new stack), but with namespace flags and EXTRA clone flags (CLONE_PARENT);
 * clone3 because CLONE_NEWTIME collides with the exit-signal byte of the old clone(). With
 * cgroup_fd >= 0 the child starts in that cgroup (*placed); a kernel without
 * CLONE_INTO_CGROUP gets a plain clone. */
static pid_t clone_namespaces(unsigned ns, uint64_t extra, int cgroup_fd, bool *placed)
{
    /* clone3 refuses an exit signal with CLONE_PARENT: the child gets our parent's (SIGCHLD) */
    struct clone_args_v2 args = { .flags = extra,
                                  .exit_signal = extra & CLONE_PARENT ? 0 : SIGCHLD };
    for (int i = 0; i < NS_COUNT; i++)
        if (ns & NS_BIT(i))
            args.flags |= (uint64_t)NAMESPACES[i].clone_flag;
    pid_t pid = -1;
    *placed = false;
    if (cgroup_fd >= 0) {
        struct clone_args_v2 into = args;
        into.flags |= CLONE_INTO_CGROUP;
        into.cgroup = (uint64_t)cgroup_fd;
        pid = (pid_t)syscall(SYS_clone3, &into, sizeof into);
        *placed = pid >= 0;
        if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL))
            return pid;
    }
    pid = (pid_t)syscall(SYS_clone3, &args, (size_t)64);
    if (pid < 0 && errno == ENOSYS && !(ns & NS_BIT(NS_TIME)))
        pid = (pid_t)syscall(SYS_clone, (unsigned long)args.flags | SIGCHLD, 0, 0, 0, 0);
    return pid;
}

#define NOT_YOURS_HINT \
    "the process's namespaces are not this user's to join: run enter as the user that created " \
    "the environment, or root"

static int open_env_fds(pid_t pid, unsigned ns, bool want_root, struct env *env,
                        struct failure *f)
{
    char path[64];
    for (int i = 0; i < NS_COUNT; i++) {
        env->ns_fd[i] = -1;
        if (!(ns & NS_BIT(i)))
            continue;
        snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, NAMESPACES[i].proc_name);
        env->ns_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (env->ns_fd[i] < 0 && (errno == EACCES || errno == EPERM))
            return fail(f, "setns", "open", path, "%s", NOT_YOURS_HINT);
        if (env->ns_fd[i] < 0)
            return fail(f, "setns", "open", path, NULL);
    }
    env->root_fd = -1;
    if (want_root) {
        snprintf(path, sizeof path, "/proc/%d/root", pid);
        env->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (env->root_fd < 0)
            return fail(f, "setns", "open", path, NULL);
    }
    return 0;
}

/* Without a mount namespace: the tree the init chroots into, in the helper's mount ns. As root
 * (after the clone) from the idmapped LOWER_FD: its top then belongs to the range's root too. */
static int prepare_chroot_tree(struct env_spec *spec, struct env *env, int lower_fd,
                               struct failure *f)
{
    bool root = geteuid() == 0;
    if (!root && spec->mode == ROOTFS_OVERLAY) {
        errno = EPERM;
        return fail(f, "overlay", "mount", spec->scratch,
                    "an overlay without a mount namespace needs root: add `mount` to the namespaces");
    }
    if (mkdir(spec->scratch, 0755) < 0 && errno != EEXIST)
        return fail(f, "mount-rootfs", "mkdir", spec->scratch, NULL);
    env->chroot_dir = xstrdup(spec->scratch);
    env->chroot_mounted = root;
    enum rootfs_mode used;
    if (prepare_writable_root(spec->rootfs, lower_fd, spec->scratch,
                              root ? spec->mode : ROOTFS_COPY, root, false, NULL, &used, NULL, f) < 0)
        return -1;
    spec->mode = used;
    return 0;
}

/* The init failed (*msg, or died: its status): reaps it unless the caller did (*reaped). */
static int reap_failed_init(struct env *env, const struct status_msg *msg, const int *reaped,
                            struct failure *f)
{
    int status = reaped ? *reaped : 0;
    if (!reaped) {
        kill(env->pid, SIGKILL); /* a no-op after 'e': it is exiting anyway */
        while (waitpid(env->pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    close(env->report_fd);
    env->report_fd = -1;
    if (msg) {
        *f = msg->failure;
        return -1;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && cgroup_oom_kills(&env->cg) > 0) {
        errno = ENOMEM; /* the test's: a limit no environment fits in */
        return fail(f, "cgroup", "oom-kill", "(init)", "the out-of-memory killer killed the init while it "
                    "set the environment up: the memory limit is too small for it; give it more (a few "
                    "MiB at least)");
    }
    errno = ECHILD;
    return fail(f, "clone", "waitpid", "(init)", "the init died during setup (status 0x%x)", status);
}

/* A ready env keeps no fd of its namespaces (see env.h); without mount only its root, which
 * the chroot of every command needs (no mount namespace sets it). */
static int open_env_root(struct env *env, struct failure *f)
{
    char path[64];
    env->by_pid = true;
    if (env->ns & NS_BIT(NS_MOUNT))
        return 0;
    snprintf(path, sizeof path, "/proc/%d/root", env->pid);
    env->root_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return env->root_fd < 0 ? fail(f, "setns", "open", path, NULL) : 0;
}

bool env_has_ns(const struct env *env, int i)
{
    return env->ns_fd[i] >= 0 || (env->by_pid && (env->ns & NS_BIT(i)));
}

int env_open_ns(const struct env *env, int i)
{
    char path[64];
    if (env->ns_fd[i] >= 0)
        return fcntl(env->ns_fd[i], F_DUPFD_CLOEXEC, 3);
    if (!env_has_ns(env, i)) {
        errno = EINVAL;
        return -1;
    }
    snprintf(path, sizeof path, "/proc/%d/ns/%s", env->pid, NAMESPACES[i].proc_name);
    return open(path, O_RDONLY | O_CLOEXEC);
}

int env_join(const struct env *env, unsigned join, const char **what)
{
    return env_join_pidfd(env, -1, join, what);
}

int env_join_pidfd(const struct env *env, int init_pidfd, unsigned join, const char **what)
{
    if (env->by_pid) {
        int flags = 0;
        for (int i = 0; i < NS_COUNT; i++)
            if ((join & NS_BIT(i)) && (env->ns & NS_BIT(i)))
                flags |= NAMESPACES[i].clone_flag;
        if (!flags)
            return 0;
        *what = "pidfd";
        int pidfd = init_pidfd >= 0 ? init_pidfd : (int)syscall(SYS_pidfd_open, env->pid, 0);
        int rc = pidfd < 0 ? -1 : setns(pidfd, flags);
        int err = errno;
        if (pidfd >= 0 && pidfd != init_pidfd)
            close(pidfd);
        errno = err;
        return rc;
    }
    for (int i = 0; i < NS_COUNT; i++) {
        if (!(join & NS_BIT(i)) || env->ns_fd[i] < 0)
            continue;
        *what = NAMESPACES[i].proc_name;
        if (setns(env->ns_fd[i], NAMESPACES[i].clone_flag) < 0)
            return -1;
    }
    return 0;
}

/* Pins every namespace the env unshared but pid, those pinned already aside (see the header). */
static int pin_namespaces(struct env *env, struct failure *f)
{
    for (int i = 0; i < NS_COUNT; i++) {
        struct stat st;
        if (i == NS_PID || env->pins[i].fd >= 0 || !env_has_ns(env, i))
            continue;
        int fd = env_open_ns(env, i);
        if (fd < 0 || fstat(fd, &st) < 0) {
            if (fd >= 0)
                close(fd);
            return fail(f, "setns", "fstat", NAMESPACES[i].proc_name, "pinning the env's namespace");
        }
        env->pins[i] = (struct ns_pin){ .fd = fd, .dev = st.st_dev, .ino = st.st_ino };
    }
    return 0;
}

int env_advance(struct env *env, const int *reaped, struct failure *f)
{
    struct status_msg msg;
    int rc = read_status(env->report_fd, &msg);
    if (rc < 0 && errno == EAGAIN && !reaped)
        return 1; /* spurious wake-up: the messages are atomic */
    if (rc == 1 && msg.tag == 'u') {
        env->layer_fd = msg.value;
        return reaped ? env_advance(env, reaped, f) : 1;
    }
    if (rc == 1 && msg.tag == 'e')
        return reap_failed_init(env, &msg, reaped, f);
    if (rc != 1 || msg.tag != 'r' || reaped) /* EOF, garbage, or dead after all */
        return reap_failed_init(env, NULL, reaped, f);
    close(env->report_fd);
    env->report_fd = -1;
    env->mode_used = (enum rootfs_mode)msg.value;
    cgroup_close_fds(&env->cg); /* the init is in: spawns open cgroup.procs by path */
    if (open_env_root(env, f) < 0 || (!(env->ns & NS_BIT(NS_PID)) && pin_namespaces(env, f) < 0)) {
        kill(env->pid, SIGKILL);
        while (waitpid(env->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return -1;
    }
    return 0;
}

static void init_env(struct env *env, unsigned ns)
{
    memset(env, 0, sizeof *env);
    env->pid = -1;
    env->ns = ns;
    env->root_fd = env->life_fd = env->layer_fd = env->report_fd = -1;
    for (int i = 0; i < NS_COUNT; i++)
        env->ns_fd[i] = env->pins[i].fd = -1;
    env->pivoted = ns & NS_BIT(NS_MOUNT);
    cgroup_env_init(&env->cg);
    id_range_init(&env->range);
    env_policy_init(&env->policy);
}

static int check_spec_rules(const struct env_spec *spec, struct failure *f)
{
    errno = EINVAL;
    if (spec->hostname && !(spec->ns & NS_BIT(NS_UTS)))
        return fail(f, "hostname", "sethostname", spec->hostname, "a hostname needs the uts namespace");
    if ((spec->n_layers || spec->upper_dir || spec->tmpfs_size) && !(spec->ns & NS_BIT(NS_MOUNT)))
        return fail(f, "mount-rootfs", "mount", spec->n_layers ? spec->layers[0] : "/",
                    "layers, upper-dir and upper-size need the mount namespace");
    if (spec->n_layers > MAX_LAYERS)
        return fail(f, "mount-rootfs", "mount", spec->layers[0], "at most %d layers", MAX_LAYERS);
    if ((spec->n_mounts || spec->readonly_root) && !(spec->ns & NS_BIT(NS_MOUNT)))
        return fail(f, spec->n_mounts ? (spec->mounts[0].kind == 'b' ? "bind" : "tmpfs")
                                      : "readonly-root", "mount",
                    spec->n_mounts ? spec->mounts[0].dst : "/",
                    "binds, tmpfs mounts and readonly-root need the mount namespace");
    return 0;
}

/* Refuses what cannot work before anything is created: settings that contradict each other, which
 * no host can satisfy (f->settings, so kind=test whatever the stage). */
int env_check_spec(const struct env_spec *spec, struct failure *f)
{
    if (check_spec_rules(spec, f) == 0)
        return 0;
    f->settings = true;
    return -1;
}

/* The intermediate of clone_in_userns(): returns only in the init; reports on REPORT 'p' (the
 * init's pid) then 'm' (in its cgroup, mapped), or 'e'. */
static void clone_from_userns(int userns_fd, unsigned ns, const struct env *env,
                              const struct id_map_plan *maps, int report)
{
    struct failure f;
    bool placed = false;
    set_failure_sink(report);
    if (setns(userns_fd, CLONE_NEWUSER) < 0)
        die("clone", "setns", "user (the network's)",
            "the helper must own the network's user namespace");
    pid_t pid = clone_namespaces(ns, CLONE_PARENT, env->cg.dir_fd, &placed);
    if (pid == 0)
        return;
    if (pid < 0)
        die("clone", "clone3", "", NULL);
    send_status(report, 'p', pid);
    if ((env->cg.version && !placed && cgroup_enter(&env->cg, pid, &f) < 0) ||
        write_nested_id_maps(pid, maps, &f) < 0) {
        kill(pid, SIGKILL);
        die_with(&f, EXIT_SETUP_FAILED);
    }
    send_status(report, 'm', 0);
    _exit(0);
}

/* Clones the init inside the user namespace USERNS_FD (see the header): 0 in the init, its pid
 * in the helper once it is in its cgroup and mapped, or -2 with *f (nothing left over). */
static pid_t clone_in_userns(int userns_fd, unsigned ns, const struct env *env,
                             const struct id_map_plan *maps, struct failure *f)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        fail(f, "clone", "pipe2", "", NULL);
        return -2;
    }
    pid_t mid = fork();
    if (mid == 0) {
        close(report[0]);
        clone_from_userns(userns_fd, ns, env, maps, report[1]);
        close(report[1]); /* the init: the intermediate's channel is not its own */
        return 0;
    }
    close(report[1]);
    if (mid < 0) {
        close(report[0]);
        fail(f, "clone", "fork", "(intermediate)", NULL);
        return -2;
    }
    struct status_msg msg;
    pid_t pid = -1;
    int rc = read_status(report[0], &msg);
    if (rc == 1 && msg.tag == 'p') {
        pid = (pid_t)msg.value;
        rc = read_status(report[0], &msg);
    }
    close(report[0]);
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (rc == 1 && msg.tag == 'm')
        return pid;
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (rc == 1 && msg.tag == 'e') {
        *f = msg.failure;
        return -2;
    }
    errno = ECHILD;
    fail(f, "clone", "fork", "(intermediate)", "the process cloning the init died");
    return -2;
}

/* Clones the init, in the env's cgroup when there is one: its pid, 0 in the init, -1 (clone
 * failed: errno) or -2 (*f filled). */
static pid_t clone_init(struct env_spec *spec, struct env *env, const struct id_map_plan *maps,
                        bool *in_cgroup, struct failure *f)
{
    static const struct cgroup_limits track_only = { 0 };
    unsigned ns = spec->ns;
    bool placed = false;
    if (spec->cgroup_name && cgroup_create(spec->limits ? spec->limits : &track_only,
                                           spec->cgroup_name, &env->cg, f) < 0)
        return -2;
    if (env->cg.version)
        ns &= ~NS_BIT(NS_CGROUP); /* the init unshares it once inside (see the header) */
    if (spec->time_offsets)
        ns &= ~NS_BIT(NS_TIME);
    *in_cgroup = env->cg.version != 0;
    if (spec->parent_userns_fd > 0)
        return clone_in_userns(spec->parent_userns_fd, ns, env, maps, f);
    pid_t pid = clone_namespaces(ns, 0, env->cg.dir_fd, &placed);
    if (pid > 0 && *in_cgroup && !placed && cgroup_enter(&env->cg, pid, f) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -2;
    }
    return pid;
}

/* As root, once the maps are written: the rootfs idmapped to the init's user namespace in
 * fds[0] (for the init); without mount the helper builds the chroot tree from it instead, fds
 * are then the writable layer and the root (the init cannot reach them by path), and *go names
 * the rootfs mode used. */
static int prepare_idmapped_root(struct env_spec *spec, struct env *env, int fds[GO_FDS], char *go,
                                 struct failure *f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/ns/user", env->pid);
    int userns_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (userns_fd < 0)
        return fail(f, "uid-map", "open", path, NULL);
    fds[0] = open_idmapped_tree(spec->rootfs, userns_fd, env->range.base, f);
    /* the layers as the rootfs (their owners are image ids too), after it in fds; on failure
     * the caller closes what was opened */
    for (size_t i = 0; fds[0] >= 0 && i < spec->n_layers; i++) {
        if ((fds[1 + i] = open_idmapped_tree(spec->layers[i], userns_fd, env->range.base, f)) < 0) {
            close(userns_fd);
            return -1;
        }
    }
    close(userns_fd);
    if (fds[0] >= 0 && spec->upper_dir &&
        (fds[1 + spec->n_layers] = open_upper_dir(spec->upper_dir, env->range.base, f)) < 0)
        return -1;
    if (fds[0] < 0 || (spec->ns & NS_BIT(NS_MOUNT)))
        return fds[0] < 0 ? -1 : 0;
    int rc = prepare_chroot_tree(spec, env, fds[0], f);
    close(fds[0]);
    fds[0] = rc < 0 ? -1 : open_writable_layer(spec->scratch, spec->mode, f);
    snprintf(path, sizeof path, "%s/root", spec->scratch);
    if (fds[0] >= 0 && (fds[1] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        fail(f, "chroot", "open", path, NULL);
    *go = spec->mode == ROOTFS_OVERLAY ? 'o' : 'c';
    return fds[0] < 0 || fds[1] < 0 ? -1 : 0;
}

/* Releases the clone: the maps first (the init waits for them on `go`; nested ones are written
 * already), as root the idmapped rootfs, then the byte. */
static int release_init(struct env_spec *spec, const struct id_map_plan *maps, int go,
                        struct env *env, struct failure *f)
{
    int rc = 0, fds[GO_FDS];
    char byte = 'g';
    for (int i = 0; i < GO_FDS; i++)
        fds[i] = -1;
    if ((spec->ns & NS_BIT(NS_USER)) && spec->parent_userns_fd <= 0)
        rc = write_id_maps(env->pid, maps, f);
    if (rc == 0 && env->range.base)
        rc = prepare_idmapped_root(spec, env, fds, &byte, f);
    if (rc < 0) {
        kill(env->pid, SIGKILL);
        waitpid(env->pid, NULL, 0);
        close(env->report_fd);
        env->report_fd = -1;
    } else {
        (void)send_go(go, byte, fds);
    }
    for (int i = 0; i < GO_FDS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(go);
    return rc;
}

/* As real root, before the clone: each bind's source cloned (open_tree, recursive) by the helper
 * into a copy of the spec's mounts, for the init to attach (binds.c); the init, already its
 * range's root, may not search the host's directories leading to a source. */
static int clone_bind_sources(struct env_spec *spec, struct extra_mount **copy, struct failure *f)
{
    *copy = NULL;
    if (spec->n_mounts == 0)
        return 0;
    *copy = xmalloc(spec->n_mounts * sizeof **copy);
    memcpy(*copy, spec->mounts, spec->n_mounts * sizeof **copy);
    for (size_t i = 0; i < spec->n_mounts; i++)
        (*copy)[i].tree_fd = 0;
    spec->mounts = *copy;
    for (size_t i = 0; i < spec->n_mounts; i++) {
        struct extra_mount *m = &(*copy)[i];
        if (m->kind != 'b')
            continue;
        m->tree_fd = (int)syscall(SYS_open_tree, AT_FDCWD, m->src,
                                  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (m->tree_fd < 0) {
            m->tree_fd = 0;
            return fail_bind_source(m, errno == ENOENT ? "stat" : "open_tree", f);
        }
    }
    return 0;
}

static void close_bind_sources(struct extra_mount *copy, size_t n)
{
    for (size_t i = 0; copy && i < n; i++)
        if (copy[i].tree_fd > 0)
            close(copy[i].tree_fd);
    free(copy);
}

/* One pipe for every init (not one per env): the helper keeps the write end for its whole life,
 * each init holds the read end (fd 3) and exits at its EOF, i.e. when the helper is gone. */
static int life_pipe[2] = { -1, -1 };

static int open_life_pipe(void)
{
    return life_pipe[0] >= 0 ? 0 : pipe2(life_pipe, O_CLOEXEC);
}

/* MAPS: not in this frame (its program paths are PATH_MAX each: see JOINED_SIZE). */
/* The helper reaches its inits through /proc/PID: a /proc of another PID namespace than ours (`unshare
 * --pid --fork` without --mount-proc) names other processes there, so nothing is made then. */
static int check_proc_is_ours(struct failure *f)
{
    static int known = -1;
    if (known < 0) {
        char link[32];
        ssize_t n = readlink("/proc/self", link, sizeof link - 1);
        if (n > 0)
            link[n] = '\0';
        known = n > 0 && strtol(link, NULL, 10) == (long)getpid();
    }
    if (known)
        return 0;
    errno = EINVAL;
    return fail(f, "proc", "readlink", "/proc/self",
                "/proc is mounted for another PID namespace than the helper's: run it where /proc belongs to its "
                "own PID namespace, e.g. unshare --pid --fork --mount-proc");
}

static int start_with(const struct env_spec *given, struct env *env, struct id_map_plan *maps,
                      struct failure *f)
{
    struct env_spec spec = *given;
    int go[2], report[2];
    bool in_cgroup = false;
    if (spec.time_offsets)
        spec.ns |= NS_BIT(NS_TIME);
    init_env(env, spec.ns);
    struct extra_mount *trees = NULL; /* as root: the binds with their sources cloned */
    if (env_check_spec(&spec, f) < 0 || check_proc_is_ours(f) < 0)
        return -1;
    if ((spec.ns & NS_BIT(NS_USER)) && real_root()) { /* every user-map: the range */
        if (id_range_take(&env->range, f) < 0)
            return -1;
        plan_range_maps(env->range.base, maps);
        spec.user_map = USER_MAP_ROOT;
        if (clone_bind_sources(&spec, &trees, f) < 0) {
            close_bind_sources(trees, spec.n_mounts);
            return -1;
        }
    } else if ((spec.ns & NS_BIT(NS_USER)) && plan_id_maps(spec.user_map, maps, f) < 0) {
        return -1;
    }
    if (!(spec.ns & NS_BIT(NS_MOUNT)) && !env->range.base &&
        prepare_chroot_tree(&spec, env, -1, f) < 0)
        return -1;
    go[0] = go[1] = report[0] = report[1] = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0 ||
        pipe2(report, O_CLOEXEC) < 0 || open_life_pipe() < 0) {
        fail(f, "clone", "pipe2", "", NULL);
        for (int i = 0; i < 2; i++) { /* EMFILE may strike after some were opened */
            if (go[i] >= 0)
                close(go[i]);
            if (report[i] >= 0)
                close(report[i]);
        }
        close_bind_sources(trees, spec.n_mounts);
        return -1;
    }
    pid_t pid = clone_init(&spec, env, maps, &in_cgroup, f);
    if (pid == 0) {
        close(go[1]);
        close(report[0]);
        close(life_pipe[1]); /* the helper's alone: its EOF is the helper's death */
        init_main(&spec, (struct init_pipes){ go[0], report[1], life_pipe[0] }, in_cgroup);
    }
    close_bind_sources(trees, spec.n_mounts); /* the init has its copies */
    spec.mounts = given->mounts;
    close(go[0]);
    close(report[1]);
    if (pid < 0) {
        if (pid == -1)
            fail(f, "clone", "clone3", "", NULL);
        close(go[1]);
        close(report[0]);
        return -1;
    }
    env->pid = pid;
    env->report_fd = report[0];
    fcntl(report[0], F_SETFL, O_NONBLOCK);
    return release_init(&spec, maps, go[1], env, f);
}

int env_start(const struct env_spec *spec, struct env *env, struct failure *f)
{
    static struct id_map_plan maps; /* one env starts at a time: the helper has one thread */
    return start_with(spec, env, &maps, f);
}

int env_create(const struct env_spec *spec, struct env *env, struct failure *f)
{
    if (env_start(spec, env, f) < 0)
        return -1;
    int rc;
    while ((rc = env_advance(env, NULL, f)) == 1) {
        struct pollfd p = { .fd = env->report_fd, .events = POLLIN };
        (void)poll(&p, 1, -1);
    }
    return rc;
}

void env_kill(struct env *env)
{
    if (env->pid > 0)
        kill(env->pid, SIGKILL);
}

void env_remove_cgroup(struct env *env)
{
    cgroup_remove(&env->cg);
    id_range_free(&env->range);
}

void env_release(struct env *env)
{
    struct cgroup_env cg = env->cg;
    struct id_range range = env->range;
    struct ns_pin pins[NS_COUNT];
    memcpy(pins, env->pins, sizeof pins);
    for (int i = 0; i < NS_COUNT; i++)
        if (env->ns_fd[i] >= 0)
            close(env->ns_fd[i]);
    if (env->root_fd >= 0)
        close(env->root_fd);
    if (env->life_fd >= 0)
        close(env->life_fd);
    if (env->report_fd >= 0)
        close(env->report_fd);
    if (env->chroot_dir) {
        if (env->chroot_mounted)
            umount2(env->chroot_dir, MNT_DETACH);
        remove_tree(env->chroot_dir);
        free(env->chroot_dir);
    }
    env_policy_free(&env->policy);
    init_env(env, 0);
    env->cg = cg;
    env->range = range;
    memcpy(env->pins, pins, sizeof pins);
}

/* Whether the process of /proc/NAME lives in one of the env's pinned namespaces. A zombie has
 * none any more (and an unreadable one, another user's, is not ours). */
static bool in_pinned_namespace(const struct env *env, const char *name)
{
    char path[300];
    struct stat st;
    for (int i = 0; i < NS_COUNT; i++) {
        if (env->pins[i].fd < 0)
            continue;
        snprintf(path, sizeof path, "/proc/%s/ns/%s", name, NAMESPACES[i].proc_name);
        if (stat(path, &st) == 0 && st.st_ino == env->pins[i].ino && st.st_dev == env->pins[i].dev)
            return true;
    }
    return false;
}

/* SIGKILLs the process of /proc/NAME if it is the env's; true if it was. The pidfd is opened
 * before the check, so that a pid recycled in between is never signalled. */
static bool kill_if_stray(const struct env *env, const char *name)
{
    pid_t pid = (pid_t)atoi(name);
    if (name[0] < '1' || name[0] > '9' || pid == getpid())
        return false;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0 && errno != ENOSYS)
        return false; /* gone already */
    bool stray = in_pinned_namespace(env, name);
    if (stray && pidfd >= 0)
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    else if (stray)
        kill(pid, SIGKILL); /* no pidfd_open (Linux < 5.3) */
    if (pidfd >= 0)
        close(pidfd);
    return stray;
}

/* One pass over /proc; returns how many strays it SIGKILLed. */
static int kill_strays_once(const struct env *env)
{
    DIR *proc = opendir("/proc");
    int killed = 0;
    if (!proc)
        return 0;
    for (struct dirent *d; (d = readdir(proc));)
        killed += kill_if_stray(env, d->d_name);
    closedir(proc);
    return killed;
}

int env_pin_for_outside_pid(struct env *env, unsigned join, struct failure *f)
{
    if (!(env->ns & NS_BIT(NS_PID)) || (join & NS_BIT(NS_PID)) || env->cg.version)
        return 0; /* pinned when ready; inside the pid namespace; or the cgroup holds it */
    return pin_namespaces(env, f);
}

void env_kill_strays(struct env *env)
{
    bool pinned = false;
    for (int i = 0; i < NS_COUNT; i++)
        pinned |= env->pins[i].fd >= 0;
    /* Killed processes leave their namespaces at once (zombies have none); a scan that still
     * finds some saw ones forked meanwhile, or not yet dead: pause, scan again. */
    for (int round = 0; pinned && round < STRAY_ROUNDS && kill_strays_once(env) > 0; round++)
        nanosleep(&(struct timespec){ .tv_nsec = STRAY_PAUSE_NS }, NULL);
    for (int i = 0; i < NS_COUNT; i++) {
        if (env->pins[i].fd >= 0)
            close(env->pins[i].fd);
        env->pins[i].fd = -1;
    }
}

static bool same_ns(pid_t pid, const char *name)
{
    char path[64];
    struct stat theirs, ours;
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, name);
    if (stat(path, &theirs) < 0) /* ENOENT: not supported by this kernel, nothing to join; */
        return errno == ENOENT;  /* EACCES (another user's): differs, open fails and says so */
    snprintf(path, sizeof path, "/proc/self/ns/%s", name);
    if (stat(path, &ours) < 0)
        return false;
    return theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev;
}

int env_attach(pid_t pid, unsigned wanted, struct env *env, struct failure *f)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", pid);
    if (access(path, F_OK) < 0)
        return fail(f, "setns", "access", path, "no such process");
    if (wanted == 0) {
        for (int i = 0; i < NS_COUNT; i++)
            if (!same_ns(pid, NAMESPACES[i].proc_name))
                wanted |= NS_BIT(i);
    }
    if (!same_ns(pid, NAMESPACES[NS_USER].proc_name)) /* always: as root, never host root there */
        wanted |= NS_BIT(NS_USER);
    init_env(env, wanted);
    env->pid = pid;
    if (cgroup_attach(pid, &env->cg, f) < 0)
        return -1;
    return open_env_fds(pid, wanted, wanted & NS_BIT(NS_MOUNT), env, f);
}
