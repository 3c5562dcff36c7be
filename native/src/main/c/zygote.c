/*
 * zygote.c - commands forked inside their environment, where the helper cannot fork them there
 * itself (rootless, root of a user namespace only: spawn.c's intermediate way).
 *
 * - That way, each command costs two forks of the helper's memory: an intermediate that joins the
 *   env's namespaces (PID for its children) and chroots, and the command it clones as our
 *   sibling; then the command loads the seccomp filter (the kernel checks and JIT-compiles it for
 *   each process). The zygote is the env's first such intermediate, kept: once its command is
 *   cloned it applies what every command of the env gets (apply_zygote_policy(): bounding and
 *   capability sets, no_new_privs, the filters) and waits for requests. Each later command is one
 *   clone of it, CLONE_VM|CLONE_VFORK (nothing copied) and CLONE_PARENT: our child, as the other
 *   ways' commands are, which we reap and signal; it announces itself on its status socket,
 *   enters the env's cgroup, sets its ids, umask, rlimits and a session keyring of its own (the
 *   filter's one keyring exception, seccomp.c), and execs (exec_command(), as every command).
 *   As root, a command is one clone of the helper into the env (spawn.c's direct way), which a
 *   zygote did not beat: no zygote.
 * - Out of the env's reach: not in its PID namespace (nothing inside can see or signal it; `kill
 *   -1` leaves it), not in its cgroup (it counts against no limit of the env), not dumpable (no
 *   ptrace, no /proc/PID/mem or fd from the env's user namespace, even when a command's setresuid
 *   shares its memory until exec). It holds its request socket, the env's cgroup.procs fds and
 *   /dev/null, no fd of ours besides; it dies with us (PR_SET_PDEATHSIG), at EOF of its socket,
 *   and we SIGKILL and reap it when the env goes (zygote_stop()).
 * - Requests: on a stream socket, a struct request with the command's stdin, stdout, stderr and
 *   status socket attached (SCM_RIGHTS), then its cwd, argv and envp, each NUL-terminated.
 * - A clone that fails is reported on the command's status socket (stage `exec`); one that worked
 *   too ('c', the command's pid), once the command exec'd or died: a command killed before it
 *   announced itself (kill -1 in the env, the OOM killer) is reported as such, and the zygote kept.
 *   A zygote that could not set itself up, or is gone (EPIPE, or EOF with neither message),
 *   started nothing: serve then stops it and spawns the command the other way
 *   (SPAWN_ZYGOTE_GONE), and makes no other for that env.
 */
#include "zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "harden.h"
#include "idrange.h"
#include "usermap.h"

#define MAX_STRINGS (64u << 20) /* far above ARG_MAX: a request is never refused for its size */

struct request {
    uint32_t strings; /* bytes of cwd, argv and envp that follow */
    uint32_t argc, envc;
    uint32_t umask;
    int64_t uid, gid;
    uint32_t n_groups;
    gid_t groups[MAX_SUPPLEMENTARY_GROUPS];
};

enum { STDIN, STDOUT, STDERR, STATUS, N_FDS };

void zygote_init(struct zygote *z)
{
    z->pid = 0;
    z->fd = -1;
}

/* RLIMIT_NPROC counts the processes of a uid in a user namespace: the zygote would take one of root's. */
static bool limits_processes(const struct env_policy *policy)
{
    for (size_t i = 0; i < policy->n_rlimits; i++)
        if (policy->rlimits[i].resource == RLIMIT_NPROC)
            return true;
    return false;
}

bool zygote_fits(const struct spawn_spec *spec)
{
    const struct env *env = spec->env;
    const struct exec_policy *p = &spec->policy;
    return env->by_pid && !spec->pid1 && !spec->supervised && (spec->join & env->ns) == env->ns &&
           (!p->caps_given || p->caps == env->policy.caps) && !env->policy.seccomp &&
           !limits_processes(&env->policy);
}

/* ---- in the zygote ---- */

struct command {
    struct spawn_spec spec;
    int fds[N_FDS];
};

static int zygote_child(void *arg)
{
    struct command *c = arg;
    set_failure_sink(c->fds[STATUS]);
    announce_self(c->fds[STATUS], 'p'); /* first: whatever fails next, we know whom to reap */
    struct failure f;
    if (cgroup_enter(&c->spec.env->cg, 0, &f) < 0) /* a no-op without a cgroup */
        die_with(&f, EXIT_SETUP_FAILED);
    enter_cwd(c->spec.cwd); /* the root is the zygote's already */
    exec_command(&c->spec, c->fds[STATUS], false);
}

/* The header with its fds: 1, 0 at EOF, -1 when the stream is not one of ours. */
static int receive_header(int fd, struct request *req, int fds[N_FDS])
{
    size_t got;
    ssize_t n = recv_with_control(fd, req, sizeof *req, SCM_RIGHTS, fds, N_FDS * sizeof(int), &got);
    if (n <= 0)
        return (int)n;
    if (got != N_FDS * sizeof(int)) {
        for (size_t i = 0; i < got / sizeof(int) && i < N_FDS; i++)
            close(fds[i]); /* not a request of ours: its fds are not kept */
        return -1;
    }
    if (n < (ssize_t)sizeof *req && read_all(fd, (char *)req + n, sizeof *req - (size_t)n) !=
                                        (ssize_t)(sizeof *req - (size_t)n))
        return -1;
    return req->strings <= MAX_STRINGS && req->n_groups <= MAX_SUPPLEMENTARY_GROUPS ? 1 : -1;
}

/* argv (or envp): COUNT strings from *at on, NULL-terminated; NULL when END comes first. */
static char **split(char **at, const char *end, uint32_t count)
{
    char **list = xmalloc(((size_t)count + 1) * sizeof *list);
    for (uint32_t i = 0; i < count; i++) {
        char *nul = *at < end ? memchr(*at, '\0', (size_t)(end - *at)) : NULL;
        if (!nul) {
            free(list);
            return NULL;
        }
        list[i] = *at;
        *at = nul + 1;
    }
    list[count] = NULL;
    return list;
}

/* One request: its command cloned, or the clone's failure on its status socket. */
static int serve_request(int fd, const struct spawn_spec *base)
{
    struct request req;
    struct command c = { .spec = *base };
    int rc = receive_header(fd, &req, c.fds);
    if (rc <= 0)
        return rc;
    char *strings = xmalloc(req.strings + 1), *at = strings, *end = strings + req.strings;
    char **argv = NULL, **envp = NULL;
    if (read_all(fd, strings, req.strings) != (ssize_t)req.strings || req.argc == 0)
        rc = -1;
    const char *cwd = at;
    at = rc > 0 && memchr(at, '\0', req.strings) ? at + strlen(at) + 1 : NULL;
    if (!at || !(argv = split(&at, end, req.argc)) || !(envp = split(&at, end, req.envc)))
        rc = -1;
    if (rc > 0) {
        c.spec.argv = argv;
        c.spec.envp = envp;
        c.spec.cwd = cwd;
        memcpy(c.spec.stdio, c.fds, sizeof c.spec.stdio);
        c.spec.policy.uid = (long)req.uid;
        c.spec.policy.gid = (long)req.gid;
        c.spec.policy.umask = (mode_t)req.umask;
        c.spec.policy.n_groups = req.n_groups;
        memcpy(c.spec.policy.groups, req.groups, req.n_groups * sizeof req.groups[0]);
        pid_t cmd = clone_on_spare_stack(zygote_child, &c, CLONE_VM | CLONE_VFORK | CLONE_PARENT | SIGCHLD);
        if (cmd < 0) {
            struct failure f;
            fail(&f, "exec", "clone", "", NULL);
            struct status_msg msg = { .tag = 'e', .value = EXIT_SETUP_FAILED, .failure = f };
            (void)write_all(c.fds[STATUS], &msg, sizeof msg);
        } else {
            send_status(c.fds[STATUS], 'c', cmd); /* it exec'd or died: the helper tells which */
        }
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* a command's setresuid may have set it on our memory */
    }
    for (int i = 0; i < N_FDS; i++)
        close(c.fds[i]);
    free(argv);
    free(envp);
    free(strings);
    return rc;
}

static int ascending(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Every fd above 2 but the cgroup fds: close_range() between them (Linux 5.9),
 * else close() up to the fd limit (no /proc/self/fd to walk: we are not in our /proc's PID
 * namespace's view any more once chrooted). */
static void close_all_but(const struct cgroup_env *cg)
{
    int keep[CG_COUNT + 1], n = 0;
    keep[n++] = cg->freezer_fd;
    for (int i = 0; i < CG_COUNT; i++)
        keep[n++] = cg->procs_fd[i];
    qsort(keep, (size_t)n, sizeof keep[0], ascending);
    int from = 3;
    bool ranges = true;
    for (int i = 0; i <= n; i++) {
        int to = i < n ? keep[i] - 1 : INT32_MAX;
        if (i < n && keep[i] < from)
            continue;
        if (to >= from && ranges && close_range((unsigned)from, (unsigned)to, 0) < 0)
            ranges = false;
        for (long fd = from, max = sysconf(_SC_OPEN_MAX); !ranges && fd <= to && fd < max; fd++)
            close((int)fd);
        if (i < n)
            from = keep[i] + 1;
    }
}

int zygote_prepare(const struct env *env, pid_t helper, struct zygote_kept *kept)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != helper)
        _exit(EXIT_SETUP_FAILED);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* before the env's user namespace is ours */
    kept->env = *env;
    kept->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    struct failure f;
    if (kept->null_fd >= 0 && cgroup_open_fds(&kept->env.cg, &f) == 0)
        return 0;
    if (kept->null_fd >= 0)
        close(kept->null_fd);
    cgroup_close_fds(&kept->env.cg);
    return -1;
}

void zygote_become(struct zygote_kept *kept, int sock)
{
    set_failure_sink(-1); /* what fails from here ends us, silently: our requests go the other way */
    setsid();             /* out of the JVM's process group and session */
    set_process_name("isolated-zygote");
    /* Not our stdin and stdout: the JVM's pipes, whose EOF must follow only our death. */
    if (dup2(sock, 0) < 0 || dup2(kept->null_fd, 1) < 0 || dup2(kept->null_fd, 2) < 0)
        _exit(EXIT_SETUP_FAILED);
    struct env *env = &kept->env;
    close_all_but(&env->cg); /* the env's root_fd, the intermediate's pipes, the socket's old fd */
    env->root_fd = -1;
    struct spawn_spec base = { .env = env, .join = env->ns, .cwd = "/", .in_zygote = true };
    exec_policy_init(&base.policy, &env->policy);
    base.policy.caps_removed |= caps_exposed_without(env_has_ns(env, NS_MOUNT), env_has_ns(env, NS_NET));
    apply_zygote_policy(&base.policy);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);        /* setresuid() may have set it back to the sysctl's */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* again: so may have setresuid() */
    while (serve_request(0, &base) > 0)
        ;
    _exit(0);
}

/* ---- in the helper ---- */

static void add_string(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s) + 1;
    while (*len + n > *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n);
    *len += n;
}

int zygote_send(const struct zygote *z, const struct spawn_spec *spec, int status_fd)
{
    const struct exec_policy *p = &spec->policy;
    struct request req = { .umask = (uint32_t)p->umask, .uid = p->uid, .gid = p->gid,
                           .n_groups = (uint32_t)p->n_groups };
    memcpy(req.groups, p->groups, p->n_groups * sizeof p->groups[0]);
    char *strings = NULL;
    size_t len = 0, cap = 0;
    add_string(&strings, &len, &cap, spec->cwd);
    for (char *const *a = spec->argv; *a; a++, req.argc++)
        add_string(&strings, &len, &cap, *a);
    for (char *const *e = spec->envp; *e; e++, req.envc++)
        add_string(&strings, &len, &cap, *e);
    req.strings = (uint32_t)len;
    int fds[N_FDS] = { spec->stdio[0], spec->stdio[1], spec->stdio[2], status_fd };
    ssize_t n = send_with_control(z->fd, &req, sizeof req, SCM_RIGHTS, fds, sizeof fds);
    int rc = len > MAX_STRINGS || n <= 0 ? -1 : 0;
    if (rc == 0 && n < (ssize_t)sizeof req)
        rc = write_all(z->fd, (char *)&req + n, sizeof req - (size_t)n);
    if (rc == 0)
        rc = write_all(z->fd, strings, len);
    free(strings);
    return rc;
}

void zygote_kill(struct zygote *z)
{
    if (z->fd >= 0)
        close(z->fd);
    z->fd = -1;
    if (z->pid > 0)
        kill(z->pid, SIGKILL);
}

void zygote_stop(struct zygote *z)
{
    zygote_kill(z);
    while (z->pid > 0 && waitpid(z->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    zygote_init(z);
}
