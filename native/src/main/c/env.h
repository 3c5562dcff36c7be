/*
 * env.h - creating an environment: namespaces, a writable copy of the rootfs, an init.
 */
#ifndef ISOLATED_ENV_H
#define ISOLATED_ENV_H

#include <stdbool.h>
#include <sys/types.h>

#include "binds.h"
#include "cgroup.h"
#include "harden.h"
#include "idrange.h"
#include "usermap.h"
#include "util.h"

/* In setns() order: the user namespace first, so that joining the others is permitted. */
enum ns_index { NS_USER, NS_PID, NS_MOUNT, NS_UTS, NS_IPC, NS_NET, NS_CGROUP, NS_TIME, NS_COUNT };

#define NS_BIT(i) (1u << (i))
#define NS_DEFAULT (NS_BIT(NS_PID) | NS_BIT(NS_MOUNT) | NS_BIT(NS_UTS) | NS_BIT(NS_IPC))

struct ns_info {
    const char *name;      /* as in --ns and ns= */
    const char *proc_name; /* as in /proc/PID/ns/ */
    int clone_flag;
};
extern const struct ns_info NAMESPACES[NS_COUNT];

/* Parses "pid,mount,..." into NS_BIT()s; returns -1 and names the bad word in *bad. */
int parse_ns_list(const char *list, unsigned *out, char *bad, size_t bad_size);

enum rootfs_mode { ROOTFS_AUTO, ROOTFS_OVERLAY, ROOTFS_COPY };
int parse_rootfs_mode(const char *text, enum rootfs_mode *out);
const char *rootfs_mode_name(enum rootfs_mode mode);

struct env_spec {
    const char *rootfs;   /* the unpacked image, never written */
    unsigned ns;          /* NS_BIT()s */
    enum user_map user_map; /* with user: who the caller is inside (usermap.h) */
    const char *hostname; /* NULL: keep */
    enum rootfs_mode mode;
    /* With mount: where the init mounts its private tmpfs (invisible outside its mount ns).
     * Without mount: a fresh directory the helper fills and the init chroots into. */
    const char *scratch;
    const struct extra_mount *mounts; /* binds and tmpfs, in this order (needs mount) */
    size_t n_mounts;
    bool readonly_root;               /* remount `/` read-only after every mount */
    bool time_offsets;                /* adds time; the init writes timens_offsets */
    long long monotonic_offset, boottime_offset; /* seconds */
    const struct cgroup_limits *limits; /* NULL or nothing asked: a cgroup that only tracks */
    const char *cgroup_name;          /* the env cgroup's directory name; NULL: no cgroup */
    /* > 0: the user namespace (an fd) the env is created in, its own user ns nested there: a
     * rootless private network's (net.c); 0: none (fd 0 is stdin, never a namespace). */
    int parent_userns_fd;
    const char *const *layers;        /* read-only layers above the rootfs, topmost first */
    size_t n_layers;                  /* at most MAX_LAYERS (needs mount) */
    const char *upper_dir;            /* NULL: the writable layer on the tmpfs (needs mount) */
    const char *tmpfs_size;           /* NULL: the kernel's default size of that tmpfs */
};

#define MAX_LAYERS 8

/* A namespace the env unshared, held open so that its inode cannot be reused by another one:
 * without pid, how the env's processes are told from the host's (env_kill_strays()). */
struct ns_pin {
    int fd; /* -1: not pinned */
    dev_t dev;
    ino_t ino;
};

struct env {
    pid_t pid;            /* the init, on the host */
    unsigned ns;
    /* A ready env of serve or run keeps no fd of its namespaces: its init is our child, not
     * reaped before the env is released, so its pid (and /proc/PID) stays its own; a command
     * joins every namespace at once through a pidfd it opens (setns(pidfd, flags)), and the
     * helper opens /proc/PID/ns/KIND only for the moment it needs one (env_open_ns()). `enter`
     * (env_attach(), a process not ours) keeps the ns fds and the root instead. */
    bool by_pid;          /* ready: namespaces reached through pid (no ns_fd) */
    int ns_fd[NS_COUNT];  /* env_attach: /proc/PID/ns/..., O_CLOEXEC, -1 when not unshared */
    int root_fd;          /* /proc/PID/root: env_attach, and an env without mount (chroot) */
    int life_fd;          /* the init exits on EOF of this pipe (one for every env: -1 here) */
    int report_fd;        /* while being created: the init's status pipe (O_NONBLOCK), else -1 */
    int layer_fd;         /* the init's fd number of its writable layer (/proc/PID/fd/N), -1 */
    enum rootfs_mode mode_used;
    bool pivoted;         /* root=pivot, else chroot */
    char *chroot_dir;     /* without mount: the helper's tree (unmount + remove at release) */
    bool chroot_mounted;
    struct cgroup_env cg; /* kept by env_release(); removed by env_remove_cgroup() */
    struct id_range range; /* root: the user namespace's host ids; kept by env_release(), freed
                            * by env_remove_cgroup() */
    struct ns_pin pins[NS_COUNT]; /* without pid, once ready (with pid and no cgroup, at the first
                                   * command outside the pid namespace); kept by env_release() */
    struct env_policy policy; /* for every process of the env (the caller fills it) */
};

/* Per-process facts captured before anything forks (the init overwrites its argv for `ps`). */
void remember_argv(int argc, char **argv);
/* A child's name for `ps` (comm and the argv area remember_argv() kept), e.g. isolated-init. */
void set_process_name(const char *name);

/* Without mount ns, a root helper mounts into a private mount namespace of its own. */
int make_helper_mounts_private(struct failure *f);

/* Blocks until the init is ready (env_start() + env_advance() until done). */
/* Refuses settings that contradict each other (a hostname without uts; layers, binds, tmpfs
 * mounts or readonly-root without mount) before anything is made: -1 with f->settings set. */
int env_check_spec(const struct env_spec *spec, struct failure *f);
int env_create(const struct env_spec *spec, struct env *env, struct failure *f);
/* Clones the init and releases it (maps written, in its cgroup) without waiting for it; the
 * spec's strings need not outlive it. Then env->report_fd is readable at each status message
 * of the init and at its death. */
int env_start(const struct env_spec *spec, struct env *env, struct failure *f);
/* Reads the init's next status message: 1 not ready yet (poll report_fd again), 0 ready (fds
 * open, report_fd closed), -1 failed (*f; the init was killed and reaped, report_fd closed).
 * reaped: the init's wait status when the caller already reaped it (then never 1), else NULL. */
int env_advance(struct env *env, const int *reaped, struct failure *f);
/* SIGKILLs the init; the kernel then kills its PID namespace. */
void env_kill(struct env *env);
/* After the init was reaped: closes fds, unmounts and removes a chroot tree. */
void env_release(struct env *env);

/* Once the init and every spawned process were reaped (before the cgroup goes): SIGKILLs every
 * process still in one of the env's pinned namespaces (without pid, pinned when it became ready;
 * see env_pin_for_outside_pid()), e.g. a daemon that double-forked away, scanning /proc until
 * none is left (bounded); then unpins them. Nothing pinned: nothing to do. */
void env_kill_strays(struct env *env);
/* Before a command that joins the env with pid, but not its pid namespace (enter), when the env
 * has no cgroup: pins the env's other namespaces (once), so that env_kill_strays() finds what
 * that command leaves running; the init's death does not. 0, or -1 with F. */
int env_pin_for_outside_pid(struct env *env, unsigned join, struct failure *f);

/* Once every process of the env was reaped: removes its cgroup (if any), then frees its id
 * range (root: the next env may have it). */
void env_remove_cgroup(struct env *env);

/* Whether the env (ready, not released) has namespace I of its own. */
bool env_has_ns(const struct env *env, int i);
/* A new O_CLOEXEC fd of the env's namespace I (the caller closes it), or -1 (errno). */
int env_open_ns(const struct env *env, int i);
/* setns() into the env's namespaces of JOIN (those it has): one call through a pidfd of the
 * init (opened and closed here), else the ns fds in enum order; what failed in *what. */
int env_join(const struct env *env, unsigned join, const char **what);
/* env_join() through INIT_PIDFD (a pidfd of the init the caller opened, e.g. before a fork into
 * the env's PID namespace, where the init's host pid means nothing); -1: opens one itself. */
int env_join_pidfd(const struct env *env, int init_pidfd, unsigned join, const char **what);

/* Opens ns fds, the root and the cgroups (cgroup_attach) of an existing process (used by
 * `enter`); its user namespace is always among them when it differs from ours. */
int env_attach(pid_t pid, unsigned wanted, struct env *env, struct failure *f);

#endif
