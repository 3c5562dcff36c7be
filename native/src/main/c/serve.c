/*
 * serve.c - the resident protocol server (`isolated-helper serve`), see PROTOCOL.md.
 *
 * - Single-threaded: one poll() over stdin (requests), a signalfd (SIGCHLD), the stdout,
 *   stderr and stdin pipes of every spawned process, and FORWARD's sockets (forward.c).
 * - CREATE is asynchronous: the init is cloned and released (maps, cgroup) at once, its status
 *   pipe joins the poll set, and CREATED (after the network wiring) or ERROR is sent when it
 *   reports ready, fails or dies. Requests naming an env still being created (SPAWN, UNAME,
 *   SET-HOSTNAME, FORWARD, and STDIN/STDIN-CLOSE/SIGNAL of a SPAWN so queued) wait in that env's
 *   queue and run, in order, once it is ready (or failed: then they answer ESRCH). CLOSE does
 *   not wait: it kills the init, answers the CREATE with an ERROR, then ACKs.
 * - SPAWN, UNAME, SET-HOSTNAME, FORWARD and CLOSE are answered synchronously (each takes well
 *   under 10 ms); everything else is event-driven. WRITE opens its file synchronously (envfiles.c),
 *   and each of its WRITE-DATA frames is written into it as it is read; the last one's ACK (or the
 *   first failure's ERROR) answers it. READ is answered synchronously, its READ-DATA frames sent as
 *   the JVM reads them (a file of up to 64 MiB by default, so some 100 ms at most).
 * - A process's EXITED is sent once it was reaped and its pipes drained of what they held then,
 *   and closed: output written later by its still-running descendants is dropped (they get EPIPE).
 * - EOF on stdin (the JVM is gone) or a broken stdout: SIGKILL every init and process, reap
 *   them all, remove what we put in the state dir, exit 0.
 * - The state dir is locked while we live; at start, state dirs of dead helpers next to it are
 *   removed (statedir.c), and their env cgroups are killed and removed (cgroup_sweep_dead()).
 * - A request frame over FRAME_MAX is answered with an ERROR for its id (stage=request, E2BIG)
 *   and skipped; only a frame whose length field is under 5 (framing lost) shuts the server down.
 * - CLOSE and EOF also kill everything in the env's cgroup (cgroup_kill(): wherever it went,
 *   e.g. a daemon that double-forked away and unshared every namespace); an env without a cgroup
 *   (rootless, not delegated) then has its strays killed (env_kill_strays(): every process left
 *   in one of its own namespaces), if it has no pid namespace or a command joined it without
 *   that one (enter).
 * - CLOSE holds the env's mount namespace open while it waits for the init, and closes it
 *   right after the ACK: the mounts' teardown (the init's exit would do it) is not in the
 *   answer's way, and still done before the next request is read.
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "env.h"
#include "envfiles.h"
#include "fdlimit.h"
#include "forward.h"
#include "lockkeeper.h"
#include "net.h"
#include "options.h"
#include "proto.h"
#include "spawn.h"
#include "statedir.h"
#include "zygote.h"

#define HELPER_VERSION "0.1.0"

struct env_slot {
    uint32_t id;
    struct env env;
    struct net_member net; /* network=NAME: opened at CREATE, joined once ready, left at CLOSE */
    bool dead; /* the init died without a CLOSE (ENV-DIED was sent) */
    bool creating; /* CREATED/ERROR not sent yet: env.report_fd is polled */
    struct frame *queued; /* requests waiting for the env to be ready, in order */
    size_t n_queued;
    struct zygote zygote; /* rootless: forks its commands from the second on (zygote.c) */
    bool no_zygote;       /* it could not be made or died: commands keep the other ways */
};



struct proc {
    uint32_t id, env_id;
    pid_t pid;
    int out_fd, err_fd, in_fd; /* ours; -1 once closed */
    char *pending;             /* stdin bytes; those from pending_off on are not yet accepted by the pipe */
    size_t pending_len, pending_off;
    size_t untold;             /* stdin bytes written to the pipe and not yet reported (STDIN-WRITTEN) */
    bool close_stdin;
    bool hung_up; /* both output pipes reached EOF just now: it may have exited (reap_hung_up()) */
    long long oom_kills; /* the env cgroup's oom_kill counter at spawn; -1: unknown */
};

/* A WRITE of a file whose WRITE-DATA is still coming (the fd is the file, opened in the env). */
struct pending_write {
    uint32_t id, env_id;
    int fd;
    bool direct; /* written by us (overlayfs), else by a child as root inside (env_write_data()) */
    long long remaining;
    char *path;
};

struct server {
    const char *state_dir;
    char mnt_dir[PATH_MAX];
    struct env_slot **envs;
    size_t n_envs;
    struct proc **procs;
    size_t n_procs;
    struct pending_write *writes;
    size_t n_writes;
    struct writer out;
    struct frame_reader in;
    int sig_fd;
    int null_fd;
    struct forwards fwd; /* FORWARD listeners and their relays */
    size_t n_creating;   /* envs whose CREATE is not answered yet */
    long long last_walk_ms; /* the last waitpid(-1) walk (reap_children()), CLOCK_MONOTONIC */
    bool walk_due;          /* a walk is owed, at last_walk_ms + WALK_INTERVAL_MS at the latest */
    pid_t early[64];        /* commands reaped by reap_hung_up() whose SIGCHLD may still come */
    size_t n_early;         /* a ring: the oldest is forgotten (its SIGCHLD then walks at once) */
};

/* See reap_children(). */
#define WALK_INTERVAL_MS 100

static void dispatch(struct server *s, struct frame *frame);
static void advance_create(struct server *s, struct env_slot *slot, const int *reaped);
static void cancel_writes(struct server *s, uint32_t env_id, const char *why);

/* ---- tables ---- */

static struct env_slot *find_env_id(struct server *s, uint32_t id)
{
    for (size_t i = 0; i < s->n_envs; i++)
        if (s->envs[i]->id == id)
            return s->envs[i];
    return NULL;
}

static struct env_slot *find_env(struct server *s, const char *id_text)
{
    return find_env_id(s, id_text ? (uint32_t)strtoul(id_text, NULL, 10) : 0);
}

static struct proc *find_proc_by_pid(struct server *s, pid_t pid)
{
    for (size_t i = 0; i < s->n_procs; i++)
        if (s->procs[i]->pid == pid)
            return s->procs[i];
    return NULL;
}

static struct proc *find_proc(struct server *s, uint32_t id)
{
    for (size_t i = 0; i < s->n_procs; i++)
        if (s->procs[i]->id == id)
            return s->procs[i];
    return NULL;
}

static void remove_env(struct server *s, struct env_slot *slot)
{
    for (size_t i = 0; i < s->n_envs; i++) {
        if (s->envs[i] == slot) {
            s->envs[i] = s->envs[--s->n_envs];
            break;
        }
    }
    free(slot);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void close_net_fds(int fds[2])
{
    close_fd(&fds[0]);
    close_fd(&fds[1]);
}

static void remove_proc(struct server *s, struct proc *p)
{
    for (size_t i = 0; i < s->n_procs; i++) {
        if (s->procs[i] == p) {
            s->procs[i] = s->procs[--s->n_procs];
            break;
        }
    }
    close_fd(&p->out_fd);
    close_fd(&p->err_fd);
    close_fd(&p->in_fd);
    free(p->pending);
    free(p);
}

static int request_error(struct server *s, uint32_t id, int err, const char *what)
{
    send_request_error(&s->out, id, err, what);
    return -1;
}

/* ---- process output and exit ---- */

/* What one read of a command's output takes: not on the stack, where its 64 KiB would put every
 * frame below on pages of their own (see JOINED_SIZE). One read at a time: one thread. */
static char output_buf[65536];

/* Returns false once the pipe reached EOF (and was closed). */
static bool forward_output(struct server *s, struct proc *p, int *fd, enum reply_type type)
{
    ssize_t n = read(*fd, output_buf, sizeof output_buf);
    if (n > 0) {
        send_frame(&s->out, type, p->id, output_buf, (size_t)n);
        return true;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(fd);
        p->hung_up = p->out_fd < 0 && p->err_fd < 0;
        return false;
    }
    return true;
}

/* Drains what the pipe holds now, at the command's exit, and closes it. A descendant may keep the pipe
 * open, so no EOF wait; and no reading until it is empty either: one that writes on (yes &) would refill
 * it as fast as it is read, and this loop, which holds up every env, would never end. */
static void drain_output(struct server *s, struct proc *p, int *fd, enum reply_type type)
{
    int left = 0;
    if (*fd >= 0 && ioctl(*fd, FIONREAD, &left) < 0)
        left = 0;
    while (*fd >= 0 && left > 0) {
        ssize_t n = read(*fd, output_buf, (size_t)left < sizeof output_buf ? (size_t)left : sizeof output_buf);
        if (n > 0) {
            send_frame(&s->out, type, p->id, output_buf, (size_t)n);
            left -= (int)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    close_fd(fd);
}

/* An OOM kill is an end by SIGKILL while the env cgroup's oom_kill counter went up: the command's own, or its
 * exit code 137, a shell's report of a child's (sh -c 'app; exit $?', or a shell that does not exec its last
 * command). */
static bool was_oom_killed(struct server *s, const struct proc *p, int status)
{
    struct env_slot *slot = NULL;
    for (size_t i = 0; i < s->n_envs; i++)
        if (s->envs[i]->id == p->env_id)
            slot = s->envs[i];
    bool killed = WIFSIGNALED(status) ? WTERMSIG(status) == SIGKILL : WEXITSTATUS(status) == 128 + SIGKILL;
    if (!slot || p->oom_kills < 0 || !killed)
        return false;
    return cgroup_oom_kills(&slot->env.cg) > p->oom_kills;
}

static void finish_proc(struct server *s, struct proc *p, int status)
{
    drain_output(s, p, &p->out_fd, FRAME_STDOUT);
    drain_output(s, p, &p->err_fd, FRAME_STDERR);
    struct record_builder rb = { 0 };
    if (WIFSIGNALED(status))
        record_add(&rb, "signal", "%d", WTERMSIG(status));
    else
        record_add(&rb, "code", "%d", WEXITSTATUS(status));
    if (was_oom_killed(s, p, status))
        record_add(&rb, "oom", "true");
    send_record(&s->out, FRAME_EXITED, p->id, &rb);
    remove_proc(s, p);
}

static void env_died(struct server *s, struct env_slot *slot, int status)
{
    struct record_builder rb = { 0 };
    if (WIFSIGNALED(status))
        record_add(&rb, "signal", "%d", WTERMSIG(status));
    else
        record_add(&rb, "code", "%d", WEXITSTATUS(status));
    send_record(&s->out, FRAME_ENV_DIED, slot->id, &rb);
    cancel_writes(s, slot->id, "the environment's init died"); /* no user namespace left to write in */
    zygote_stop(&slot->zygote);
    env_release(&slot->env);
    slot->dead = true;
}

/* Whether PID was reaped early (and forgets it): its SIGCHLD names nothing new. */
static bool reaped_early(struct server *s, pid_t pid)
{
    size_t n = s->n_early < 64 ? s->n_early : 64;
    for (size_t i = 0; i < n; i++) {
        if (s->early[i] == pid) {
            s->early[i] = 0;
            return true;
        }
    }
    return false;
}

/* The child a SIGCHLD names, when it is a command of ours: reaped by pid (true), or reaped
 * already by reap_hung_up() (true). */
static bool reap_named(struct server *s, pid_t pid)
{
    struct proc *p = pid > 0 ? find_proc_by_pid(s, pid) : NULL;
    int status;
    if (!p)
        return pid > 0 && reaped_early(s, pid);
    if (waitpid(pid, &status, WNOHANG) != pid)
        return false;
    finish_proc(s, p, status);
    return true;
}

/* waitpid(-1): every child of ours that ended, each env's init among them. */
static void walk_children(struct server *s)
{
    int status;
    pid_t pid;
    s->walk_due = false;
    s->last_walk_ms = now_ms();
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct proc *p = find_proc_by_pid(s, pid);
        struct env_slot *slot = NULL;
        if (p) {
            finish_proc(s, p, status);
            continue;
        }
        for (size_t i = 0; i < s->n_envs; i++) {
            if (!s->envs[i]->dead && s->envs[i]->env.pid == pid)
                slot = s->envs[i];
            if (s->envs[i]->zygote.pid == pid) { /* killed from outside: never again here */
                s->envs[i]->zygote.pid = 0;
                zygote_stop(&s->envs[i]->zygote);
                s->envs[i]->no_zygote = true;
            }
        }
        if (slot && slot->creating)
            advance_create(s, slot, &status); /* its report says why, else the status */
        else if (slot)
            env_died(s, slot, status);
    }
}

/* SIGCHLDs coalesce, so a walk must follow the ones read to find what else ended; but a walk
 * visits every child of ours, each env's init among them (with thousands open it was a third of
 * our CPU per command). When every SIGCHLD named a command of ours, reaped by pid, the walk is
 * only owed: it runs within WALK_INTERVAL_MS (the poll timeout, see serve_main()). A command
 * whose SIGCHLD was lost in another's is still reaped at once when its output pipes hang up
 * (reap_hung_up()); only what holds no such pipe (an init, a command whose descendants keep its
 * pipes) can wait for the owed walk, at most that long. Any other SIGCHLD walks at once. */
static void reap_children(struct server *s)
{
    struct signalfd_siginfo si;
    bool all_named = true;
    while (read(s->sig_fd, &si, sizeof si) == sizeof si)
        all_named = reap_named(s, (pid_t)si.ssi_pid) && all_named;
    if (!all_named || now_ms() - s->last_walk_ms >= WALK_INTERVAL_MS)
        walk_children(s);
    else
        s->walk_due = true;
}

/* Commands whose output pipes both reached EOF in this round: most have exited (their SIGCHLD may
 * have been lost in another's), reaped by pid; one that has not is left to its SIGCHLD. */
static void reap_hung_up(struct server *s)
{
    for (size_t i = 0; i < s->n_procs;) {
        struct proc *p = s->procs[i];
        int status;
        if (p->hung_up) {
            p->hung_up = false;
            if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
                s->early[s->n_early++ % 64] = p->pid;
                finish_proc(s, p, status); /* removes p: index i now holds another one */
                continue;
            }
        }
        i++;
    }
}

/* The poll timeout: until the owed walk, or none. */
static int walk_timeout(const struct server *s)
{
    if (!s->walk_due)
        return -1;
    long long left = s->last_walk_ms + WALK_INTERVAL_MS - now_ms();
    return left <= 0 ? 0 : (int)left;
}

/* The sooner of two poll timeouts (-1: none). */
static int earliest_timeout(int a, int b)
{
    return a < 0 ? b : b < 0 || a < b ? a : b;
}

/* All of it written, or none to be: its memory back (a large stdin would be kept while the process runs). */
static void drop_pending(struct proc *p)
{
    free(p->pending);
    p->pending = NULL;
    p->pending_len = p->pending_off = 0;
}

/* STDIN-WRITTEN once this many bytes went into a pipe unreported, or once none is left to write: the JVM's
 * flow control (it keeps at most its window of a process's stdin unreported, PROTOCOL.md) needs no frame per
 * pipe write (64 KiB). */
#define STDIN_TELL_EVERY (256 * 1024)

static void tell_written(struct server *s, struct proc *p, bool closed)
{
    struct record_builder rb = { 0 };
    record_add(&rb, "bytes", "%zu", p->untold);
    if (closed)
        record_add(&rb, "closed", "true");
    send_record(&s->out, FRAME_STDIN_WRITTEN, p->id, &rb);
    p->untold = 0;
}

static void flush_stdin(struct server *s, struct proc *p)
{
    while (p->in_fd >= 0 && p->pending_len > 0) {
        ssize_t n = write(p->in_fd, p->pending + p->pending_off, p->pending_len - p->pending_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) { /* EPIPE: the process closed its stdin; drop the rest, and say so */
            drop_pending(p);
            close_fd(&p->in_fd);
            tell_written(s, p, true);
            return;
        }
        p->untold += (size_t)n;
        p->pending_off += (size_t)n; /* no memmove per write: a pipe takes 64 KiB, so that was quadratic */
        if (p->pending_off == p->pending_len)
            drop_pending(p);
    }
    if (p->untold >= STDIN_TELL_EVERY || (p->untold > 0 && p->pending_len == 0))
        tell_written(s, p, false);
    if (p->close_stdin && p->pending_len == 0)
        close_fd(&p->in_fd);
}

/* ---- requests ---- */

/* Every optional CREATE field (options.c); the first bad one is the answer. */
static int parse_env_options(const struct record *rec, struct env_options *o, struct failure *f)
{
    for (size_t i = 0; i < rec->count; i++)
        if (env_options_apply(o, rec->keys[i], rec->values[i], '\t', f) < 0)
            return -1;
    return 0;
}

/* Once per helper: an env without a cgroup is tracked by its namespaces only (cgroup.c). */
static void tell_untracked(const struct env *env)
{
    static bool told;
    if (told || cgroup_kill_dir(&env->cg))
        return;
    told = true;
    fprintf(stderr, "isolated-helper: environments get no cgroup of their own (%s); without a pid "
            "namespace, a process that leaves all of an environment's namespaces outlives it\n",
            cgroup_untracked());
}

static void report_created(struct server *s, uint32_t id, const struct env_slot *slot)
{
    const struct env *env = &slot->env;
    struct record_builder rb = { 0 };
    tell_untracked(env);
    char ns[96] = "";
    for (int i = 0; i < NS_COUNT; i++) /* what it has: ns= plus user, which every env gets */
        if (env->ns & NS_BIT(i))
            snprintf(ns + strlen(ns), sizeof ns - strlen(ns), "%s%s", ns[0] ? "," : "", NAMESPACES[i].name);
    record_add(&rb, "pid", "%d", env->pid);
    record_add(&rb, "ns", "%s", ns);
    record_add(&rb, "rootfs-mode", "%s", rootfs_mode_name(env->mode_used));
    record_add(&rb, "root", "%s", env->pivoted ? "pivot" : "chroot");
    if (env->layer_fd >= 0)
        record_add(&rb, "upper-fd", "%d", env->layer_fd);
    if (env->range.base)
        record_add(&rb, "id-range", "%u\t%u", env->range.base, ID_RANGE_SIZE);
    if (cgroup_kill_dir(&env->cg))
        record_add(&rb, "kill-cgroup", "%s", cgroup_kill_dir(&env->cg));
    if (env->cg.accounting)
        record_add(&rb, "cgroup-version", "%d", env->cg.version);
    if (env->cg.accounting && env->cg.version == 2)
        record_add(&rb, "cgroup", "%s", env->cg.dir[0]);
    for (int i = 0; env->cg.accounting && env->cg.version == 1 && i < CG_COUNT; i++) {
        char key[32];
        snprintf(key, sizeof key, "cgroup-%s", CG_NAMES[i]);
        if (env->cg.dir[i])
            record_add(&rb, key, "%s", env->cg.dir[i]);
    }
    if (slot->net.network >= 0) {
        record_add(&rb, "network", "%s", slot->net.name);
        record_add(&rb, "ip", "%s", slot->net.ip);
    }
    send_record(&s->out, FRAME_CREATED, id, &rb);
}

static int check_network(const struct env_options *o, unsigned ns, struct failure *f)
{
    errno = EINVAL;
    if (o->network[0] && !(ns & NS_BIT(NS_NET)))
        return fail(f, "network", "network", o->network,
                    "network= needs `net` in ns (the env's own network namespace)");
    return 0;
}

static int join_network(struct env_slot *slot, struct failure *f)
{
    if (slot->net.network < 0)
        return 0;
    int netns = env_open_ns(&slot->env, NS_NET);
    if (netns < 0)
        return fail(f, "network", "open", "/proc/PID/ns/net", NULL);
    int rc = network_join(netns, slot->id, &slot->net, f);
    close(netns);
    return rc;
}

/* network=: a place on it before the init exists; rootless, the init is then created inside
 * the network's user namespace (net.c). */
static int open_network(struct env_slot *slot, const struct env_options *o, struct env_spec *spec,
                        struct failure *f)
{
    if (!o->network[0])
        return 0;
    if (network_open(o->network, geteuid() != 0, spec->user_map, &slot->net, f) < 0)
        return -1;
    int userns_fd = network_userns_fd(&slot->net);
    spec->parent_userns_fd = userns_fd > 0 ? userns_fd : 0;
    return 0;
}

/* A created env whose setup failed afterwards (nothing was spawned in it yet): its init. */
static void kill_new_env(struct env *env)
{
    env_kill(env);
    while (waitpid(env->pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* The requests that waited for the env, now that it is ready or gone (then: ESRCH). */
static void replay_queued(struct server *s, struct frame *queued, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dispatch(s, &queued[i]);
        free(queued[i].payload);
    }
    free(queued);
}

/* Answers the CREATE and leaves the creating state; a failed env is dropped first. */
static void end_create(struct server *s, struct env_slot *slot, const struct failure *f)
{
    struct frame *queued = slot->queued;
    size_t n = slot->n_queued;
    uint32_t id = slot->id;
    slot->creating = false;
    slot->queued = NULL;
    s->n_creating--;
    if (f) {
        env_release(&slot->env);
        env_kill_strays(&slot->env); /* nothing ran in it: only unpins */
        env_remove_cgroup(&slot->env);
        network_leave(&slot->net);
        remove_env(s, slot);
        send_failure(&s->out, id, f);
    } else {
        report_created(s, id, slot);
    }
    replay_queued(s, queued, n);
}

/* The init's status pipe is readable, or (reaped) the init was reaped already. */
static void advance_create(struct server *s, struct env_slot *slot, const int *reaped)
{
    struct failure f;
    int rc = env_advance(&slot->env, reaped, &f);
    if (rc == 1)
        return;
    if (rc == 0 && (rc = join_network(slot, &f)) < 0)
        kill_new_env(&slot->env);
    end_create(s, slot, rc < 0 ? &f : NULL);
}

/* CLOSE before CREATED: the CREATE fails (ECANCELED) once the init is dead. */
static void cancel_create(struct server *s, struct env_slot *slot)
{
    struct failure f;
    kill_new_env(&slot->env);
    errno = ECANCELED;
    fail(&f, "clone", "kill", "(init)", "the environment was closed before it was ready");
    end_create(s, slot, &f);
}

/* REAL: the rootfs, resolved. The buffers are sized to the paths, not PATH_MAX (see JOINED_SIZE):
 * the init starts on this stack. */
static void create_from(struct server *s, uint32_t id, const struct record *rec, struct env_spec spec,
                        const char *real)
{
    struct failure f;
    struct env_options options;
    char cgroup_name[64];
    char scratch[strlen(s->mnt_dir) + strlen(s->state_dir) + 32];
    env_options_init(&options);
    if (parse_env_options(rec, &options, &f) < 0 || check_network(&options, spec.ns, &f) < 0 ||
        env_policy_check_rlimits(&options.policy, command_hard_limit, &f) < 0) {
        env_options_free(&options);
        return send_failure(&s->out, id, &f);
    }
    env_options_to_spec(&options, &spec);
    snprintf(cgroup_name, sizeof cgroup_name, "isolated-%s-%u", helper_identity(), id);
    spec.cgroup_name = cgroup_name;
    spec.rootfs = real;
    spec.hostname = record_get(rec, "hostname");
    if (spec.ns & NS_BIT(NS_MOUNT))
        snprintf(scratch, sizeof scratch, "%s", s->mnt_dir);
    else
        snprintf(scratch, sizeof scratch, "%s/env-%u", s->state_dir, id);
    spec.scratch = scratch;
    struct env_slot *slot = xmalloc(sizeof *slot);
    memset(slot, 0, sizeof *slot);
    slot->id = id;
    zygote_init(&slot->zygote);
    net_member_init(&slot->net);
    if (open_network(slot, &options, &spec, &f) < 0) {
        env_options_free(&options);
        free(slot);
        return send_failure(&s->out, id, &f);
    }
    int rc = env_start(&spec, &slot->env, &f);
    env_options_take_policy(&options, &slot->env);
    env_options_free(&options);
    if (rc < 0) {
        env_release(&slot->env);
        env_remove_cgroup(&slot->env);
        network_leave(&slot->net);
        free(slot);
        return send_failure(&s->out, id, &f);
    }
    slot->creating = true;
    s->n_creating++;
    s->envs = xrealloc(s->envs, (s->n_envs + 1) * sizeof *s->envs);
    s->envs[s->n_envs++] = slot;
}

static void handle_create(struct server *s, uint32_t id, const struct record *rec)
{
    struct failure f;
    struct env_spec spec = { .ns = NS_DEFAULT, .mode = ROOTFS_AUTO };
    const char *rootfs = record_get(rec, "rootfs"), *ns = record_get(rec, "ns");
    const char *mode = record_get(rec, "rootfs-mode");
    char bad[64];
    if (!rootfs)
        return (void)request_error(s, id, EINVAL, "rootfs= is required");
    if (fd_limit_check(&f) < 0) /* the envs already open keep a reserve */
        return send_failure(&s->out, id, &f);
    if (ns && parse_ns_list(ns, &spec.ns, bad, sizeof bad) < 0)
        return (void)request_error(s, id, EINVAL, "unknown namespace in ns=");
    if (mode && parse_rootfs_mode(mode, &spec.mode) < 0)
        return (void)request_error(s, id, EINVAL, "rootfs-mode= must be auto, overlay or copy");
    spec.ns |= NS_BIT(NS_USER); /* always: as root with a host id range of its own (env.c) */
    char *real = realpath(rootfs, NULL);
    if (!real) {
        fail(&f, "mount-rootfs", "realpath", rootfs, NULL);
        return send_failure(&s->out, id, &f);
    }
    create_from(s, id, rec, spec, real);
    free(real);
}

static int make_pipe(int fds[2], int nonblocking_end)
{
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    return fcntl(fds[nonblocking_end], F_SETFL, O_NONBLOCK);
}

/* Pipes: [0] stdin, [1] stdout, [2] stderr; the child's ends in child[], ours in ours[]. */
static int open_stdio(struct server *s, bool stdin_pipe, int child[3], int ours[3])
{
    int p[2];
    ours[0] = -1;
    child[0] = s->null_fd;
    if (stdin_pipe) {
        if (make_pipe(p, 1) < 0)
            return -1;
        child[0] = p[0];
        ours[0] = p[1];
    }
    for (int i = 1; i < 3; i++) {
        if (make_pipe(p, 0) < 0)
            return -1;
        child[i] = p[1];
        ours[i] = p[0];
    }
    return 0;
}

static void close_child_ends(struct server *s, int child[3])
{
    for (int i = 0; i < 3; i++)
        if (child[i] >= 0 && child[i] != s->null_fd)
            close(child[i]);
}

static int parse_join(const struct env_slot *slot, const char *join, unsigned *out)
{
    char bad[64];
    *out = slot->env.ns;
    if (join && parse_ns_list(join, out, bad, sizeof bad) < 0)
        return -1;
    *out &= slot->env.ns;
    return 0;
}

/* quiet: no SPAWNED (SPAWN's spawned=false): a caller that waits only for the exit is not woken twice. */
static void start_proc(struct server *s, uint32_t id, struct env_slot *slot,
                       struct spawn_spec *spec, bool stdin_pipe, bool quiet)
{
    struct failure f;
    struct spawned child;
    int child_ends[3] = { -1, -1, -1 }, ours[3] = { -1, -1, -1 };
    if (open_stdio(s, stdin_pipe, child_ends, ours) < 0) {
        fail(&f, "exec", "pipe2", "", NULL);
        close_child_ends(s, child_ends);
        for (int i = 0; i < 3; i++)
            close_fd(&ours[i]);
        return send_failure(&s->out, id, &f);
    }
    memcpy(spec->stdio, child_ends, sizeof child_ends);
    if (env_pin_for_outside_pid(&slot->env, spec->join, &f) < 0) {
        close_child_ends(s, child_ends);
        for (int i = 0; i < 3; i++)
            close_fd(&ours[i]);
        return send_failure(&s->out, id, &f);
    }
    long long oom_before = slot->env.cg.version ? cgroup_oom_kills(&slot->env.cg) : -1;
    bool fits = zygote_fits(spec);
    spec->zygote = fits && slot->zygote.pid > 0 ? &slot->zygote : NULL;
    spec->become_zygote = fits && !spec->zygote && !slot->no_zygote ? &slot->zygote : NULL;
    int rc = spawn_in_env(spec, &child, &f);
    if (rc == SPAWN_ZYGOTE_GONE) { /* nothing started: the other way, and from now on */
        zygote_stop(&slot->zygote);
        slot->no_zygote = true;
        spec->zygote = spec->become_zygote = NULL;
        rc = spawn_in_env(spec, &child, &f);
    }
    close_child_ends(s, child_ends);
    if (rc < 0 && f.signal == SIGKILL && oom_before >= 0 && cgroup_oom_kills(&slot->env.cg) > oom_before) {
        f.oom = true; /* as EXITED's oom=true */
        snprintf(f.hint, sizeof f.hint, "the OOM killer killed the command's process: the environment's memory "
                                        "limit (memory-max) was reached");
    }
    if (rc < 0) {
        for (int i = 0; i < 3; i++)
            close_fd(&ours[i]);
        return send_failure(&s->out, id, &f);
    }
    struct proc *p = xmalloc(sizeof *p);
    *p = (struct proc){ .id = id, .env_id = slot->id, .pid = child.pid, .in_fd = ours[0],
                        .out_fd = ours[1], .err_fd = ours[2],
                        .oom_kills = slot->env.cg.version ? oom_before : -1 };
    s->procs = xrealloc(s->procs, (s->n_procs + 1) * sizeof *s->procs);
    s->procs[s->n_procs++] = p;
    if (!quiet) {
        struct record_builder rb = { 0 };
        record_add(&rb, "pid", "%d", child.pid);
        record_add(&rb, "nspid", "%d", child.nspid);
        send_record(&s->out, FRAME_SPAWNED, id, &rb);
    }
    if (spec->become_zygote && slot->zygote.pid <= 0)
        slot->no_zygote = true; /* it could not: never again for this env */
}

static void handle_spawn(struct server *s, uint32_t id, const struct record *rec)
{
    struct env_slot *slot = find_env(s, record_get(rec, "env"));
    const char *cwd = record_get(rec, "cwd"), *in = record_get(rec, "stdin");
    const char *pid1 = record_get(rec, "pid1"), *spawned = record_get(rec, "spawned");
    size_t argc, envc;
    if (!slot || slot->dead)
        return (void)request_error(s, id, ESRCH, "no such environment");
    char **argv = record_all(rec, "arg", &argc), **given = record_all(rec, "envvar", &envc);
    struct spawn_spec spec = { .env = &slot->env, .argv = argv, .cwd = cwd ? cwd : "/",
                               .pid1 = pid1 && strcmp(pid1, "true") == 0 };
    struct failure f;
    int bad = 0;
    exec_policy_init(&spec.policy, &slot->env.policy);
    for (size_t i = 0; i < rec->count && bad >= 0; i++)
        bad = exec_options_apply(&spec.policy, rec->keys[i], rec->values[i], &f);
    if (bad < 0)
        send_failure(&s->out, id, &f);
    else if (argc == 0)
        request_error(s, id, EINVAL, "at least one arg= is required");
    else if (parse_join(slot, record_get(rec, "join"), &spec.join) < 0)
        request_error(s, id, EINVAL, "unknown namespace in join=");
    else if (in && strcmp(in, "null") != 0 && strcmp(in, "pipe") != 0)
        request_error(s, id, EINVAL, "stdin= must be null or pipe");
    else if (spawned && strcmp(spawned, "true") != 0 && strcmp(spawned, "false") != 0)
        request_error(s, id, EINVAL, "spawned= must be true or false");
    else {
        char **envp = build_envp(given, envc);
        spec.envp = envp;
        start_proc(s, id, slot, &spec, in && strcmp(in, "pipe") == 0,
                   spawned && strcmp(spawned, "false") == 0);
        for (char **e = envp; *e; e++)
            free(*e);
        free(envp);
    }
    free(argv);
    free(given);
}

static void handle_stdin(struct server *s, const struct frame *frame, bool close_it)
{
    struct proc *p = find_proc(s, frame->id);
    if (!p || p->in_fd < 0)
        return; /* exited already, or stdin was not a pipe: nothing to deliver to */
    if (close_it) {
        p->close_stdin = true;
    } else {
        if (p->pending_off > p->pending_len - p->pending_off) { /* written more than is left: compact */
            memmove(p->pending, p->pending + p->pending_off, p->pending_len - p->pending_off);
            p->pending_len -= p->pending_off;
            p->pending_off = 0;
        }
        p->pending = xrealloc(p->pending, p->pending_len + frame->len);
        memcpy(p->pending + p->pending_len, frame->payload, frame->len);
        p->pending_len += frame->len;
    }
    flush_stdin(s, p);
}

static void handle_signal(struct server *s, uint32_t id, const struct record *rec)
{
    const char *proc_id = record_get(rec, "proc"), *sig = record_get(rec, "signal");
    const char *group = record_get(rec, "group");
    struct proc *p = proc_id ? find_proc(s, (uint32_t)strtoul(proc_id, NULL, 10)) : NULL;
    if (!p)
        return (void)request_error(s, id, ESRCH, "no such running process");
    if (group && strcmp(group, "true") != 0 && strcmp(group, "false") != 0)
        return (void)request_error(s, id, EINVAL, "group= must be true or false");
    /* group=true: its process group (every command leads one, setsid()), what it started that stayed in it */
    pid_t target = group && strcmp(group, "true") == 0 ? -p->pid : p->pid;
    if (!sig || kill(target, atoi(sig)) < 0)
        return (void)request_error(s, id, sig ? errno : EINVAL, "kill");
    struct record_builder rb = { 0 };
    send_record(&s->out, FRAME_ACK, id, &rb);
}

static void handle_uname(struct server *s, uint32_t id, const struct record *rec)
{
    struct env_slot *slot = find_env(s, record_get(rec, "env"));
    char name[256];
    struct failure f;
    if (!slot || slot->dead)
        return (void)request_error(s, id, ESRCH, "no such environment");
    if (read_env_hostname(&slot->env, name, sizeof name, &f) < 0)
        return send_failure(&s->out, id, &f);
    struct record_builder rb = { 0 };
    record_add(&rb, "hostname", "%s", name);
    send_record(&s->out, FRAME_ACK, id, &rb);
}

static void handle_set_hostname(struct server *s, uint32_t id, const struct record *rec)
{
    struct env_slot *slot = find_env(s, record_get(rec, "env"));
    const char *name = record_get(rec, "hostname");
    struct failure f;
    if (!slot || slot->dead)
        return (void)request_error(s, id, ESRCH, "no such environment");
    if (!name || !env_has_ns(&slot->env, NS_UTS)) {
        errno = EINVAL;
        fail(&f, "hostname", "sethostname", name ? name : "", "needs hostname= and an env with uts");
        return send_failure(&s->out, id, &f);
    }
    if (set_env_hostname(&slot->env, name, &f) < 0)
        return send_failure(&s->out, id, &f);
    struct record_builder rb = { 0 };
    send_record(&s->out, FRAME_ACK, id, &rb);
}

/* The env's network and user namespaces, opened for one FORWARD or HOST-PORT (which dup()s
 * what it keeps): the env holds only its init's pidfd. */
static int with_net_fds(const struct env_slot *slot, struct failure *f, int out[2])
{
    out[0] = env_open_ns(&slot->env, NS_NET);
    out[1] = env_open_ns(&slot->env, NS_USER);
    if (out[0] >= 0 && out[1] >= 0)
        return 0;
    fail(f, "forward", "open", out[0] < 0 ? "/proc/PID/ns/net" : "/proc/PID/ns/user", NULL);
    close_net_fds(out);
    return -1;
}

/* Without a network namespace the env's ports are the host's: nothing to relay. */
static void handle_forward(struct server *s, uint32_t id, const struct record *rec)
{
    struct env_slot *slot = find_env(s, record_get(rec, "env"));
    struct failure f;
    int port, host_port, fd_pair[2] = { -1, -1 };
    if (!slot || slot->dead)
        return (void)request_error(s, id, ESRCH, "no such environment");
    if ((port = parse_port(record_get(rec, "port"), &f)) < 0)
        return send_failure(&s->out, id, &f);
    host_port = port;
    if (env_has_ns(&slot->env, NS_NET) && with_net_fds(slot, &f, fd_pair) < 0)
        return send_failure(&s->out, id, &f);
    if (env_has_ns(&slot->env, NS_NET) &&
        forward_open(&s->fwd, slot->id, fd_pair[0], fd_pair[1], port, &host_port, &f) < 0) {
        close_net_fds(fd_pair);
        return send_failure(&s->out, id, &f);
    }
    close_net_fds(fd_pair);
    struct record_builder rb = { 0 };
    record_add(&rb, "host-port", "%d", host_port);
    send_record(&s->out, FRAME_ACK, id, &rb);
}

/* Without a network namespace the host's ports are the env's already: nothing to relay. */
static void handle_host_port(struct server *s, uint32_t id, const struct record *rec)
{
    struct env_slot *slot = find_env(s, record_get(rec, "env"));
    struct failure f;
    int port;
    if (!slot || slot->dead)
        return (void)request_error(s, id, ESRCH, "no such environment");
    if ((port = parse_port(record_get(rec, "port"), &f)) < 0)
        return send_failure(&s->out, id, &f);
    bool own_net = env_has_ns(&slot->env, NS_NET);
    int fd_pair[2] = { -1, -1 };
    if (own_net && with_net_fds(slot, &f, fd_pair) < 0)
        return send_failure(&s->out, id, &f);
    int rc = own_net ? host_port_open(&s->fwd, slot->id, fd_pair[0], fd_pair[1], port, &f) : 0;
    close_net_fds(fd_pair);
    if (rc < 0)
        return send_failure(&s->out, id, &f);
    struct record_builder rb = { 0 };
    record_add(&rb, "address", "%s", own_net ? HOST_ALIAS_ADDR : "127.0.0.1");
    send_record(&s->out, FRAME_ACK, id, &rb);
}

/* Ends the pending write at index I: closes its file; F: answers its WRITE with that ERROR (else ACK). */
static void end_write(struct server *s, size_t i, const struct failure *f)
{
    struct pending_write *w = &s->writes[i];
    struct failure closing;
    if (w->fd >= 0 && close(w->fd) < 0 && !f)
        f = (fail(&closing, "write", "close", w->path, NULL), &closing);
    if (f) {
        send_failure(&s->out, w->id, f);
    } else {
        struct record_builder rb = { 0 };
        send_record(&s->out, FRAME_ACK, w->id, &rb);
    }
    free(w->path);
    s->writes[i] = s->writes[--s->n_writes];
}

static void handle_write(struct server *s, uint32_t id, const struct record *rec)
{
    struct env_slot *slot = find_env(s, record_get(rec, "env"));
    struct env_write w;
    struct failure f;
    int fd;
    bool direct;
    if (!slot || slot->dead)
        return (void)request_error(s, id, ESRCH, "no such environment");
    if (parse_env_write(rec, &w, &f) < 0 || env_write_open(&slot->env, &w, &fd, &direct, &f) < 0)
        return send_failure(&s->out, id, &f);
    s->writes = xrealloc(s->writes, (s->n_writes + 1) * sizeof *s->writes);
    s->writes[s->n_writes++] = (struct pending_write){ .id = id, .env_id = slot->id, .fd = fd, .direct = direct,
                                                       .remaining = w.size, .path = xstrdup(w.path) };
    if (w.size == 0) /* a directory or symlink (fd -1), or an empty file: done */
        end_write(s, s->n_writes - 1, NULL);
}

/* READ: synchronous, as UNAME; the file's READ-DATA goes out as the JVM takes it (blocking writes). */
static void handle_read(struct server *s, uint32_t id, const struct record *rec)
{
    struct env_slot *slot = find_env(s, record_get(rec, "env"));
    struct env_read r;
    struct failure f;
    struct record_builder rb = { 0 };
    if (!slot || slot->dead)
        return (void)request_error(s, id, ESRCH, "no such environment");
    if (parse_env_read(rec, &r, &f) < 0 || env_read(&slot->env, &r, &s->out, id, &rb, &f) < 0) {
        free(rb.data);
        return send_failure(&s->out, id, &f);
    }
    send_record(&s->out, FRAME_ACK, id, &rb);
}

/* WRITE-DATA of a WRITE that failed (or is unknown) is dropped, as STDIN of an exited process; an
 * empty one fails its WRITE (ECANCELED), the file left with the bytes written so far. */
static void handle_write_data(struct server *s, const struct frame *frame)
{
    size_t i = 0;
    while (i < s->n_writes && s->writes[i].id != frame->id)
        i++;
    if (i == s->n_writes)
        return;
    struct pending_write *w = &s->writes[i];
    struct failure f;
    if (frame->len == 0) { /* the JVM gives up (its source shrank or failed): no ACK for a short file */
        errno = ECANCELED;
        fail(&f, "request", "write", w->path, "the data ended before size= bytes (an empty WRITE-DATA)");
        return end_write(s, i, &f);
    }
    if ((long long)frame->len > w->remaining) {
        errno = EFBIG;
        fail(&f, "request", "write", w->path, "more WRITE-DATA than size= announced");
        return end_write(s, i, &f);
    }
    if (w->direct && write_all(w->fd, frame->payload, frame->len) < 0) {
        fail(&f, "write", "write", w->path, NULL);
        return end_write(s, i, &f);
    }
    if (!w->direct && env_write_data(&find_env_id(s, w->env_id)->env, w->path, w->fd, frame->payload, frame->len,
                                     &f) < 0)
        return end_write(s, i, &f);
    w->remaining -= (long long)frame->len;
    if (w->remaining == 0)
        end_write(s, i, NULL);
}

/* CLOSE, or the init's death: the env's writes still waiting for data fail (WHY: the hint). */
static void cancel_writes(struct server *s, uint32_t env_id, const char *why)
{
    for (size_t i = 0; i < s->n_writes;) {
        if (s->writes[i].env_id != env_id) {
            i++;
            continue;
        }
        struct failure f;
        errno = ECANCELED;
        fail(&f, "write", "write", s->writes[i].path, "%s", why);
        end_write(s, i, &f); /* moves the last one to index i */
    }
}

static void wait_for(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/* The env's mount namespace, held open across its init's death: the init's exit then does
 * not tear the mounts down (umount of the tree, every superblock released) while CLOSE waits
 * for it; the helper does, by closing this fd right after the ACK (handle_close()), before it
 * reads the next request. -1 without a mount namespace (or when it cannot be opened: then
 * the init's exit tears it down, as without). Only an env whose init is alive: its pid cannot
 * be reused, it is our unreaped child. */
static int hold_mount_ns(const struct env_slot *slot)
{
    char path[64];
    if (slot->dead || slot->env.pid <= 0 || !(slot->env.ns & NS_BIT(NS_MOUNT)))
        return -1;
    snprintf(path, sizeof path, "/proc/%d/ns/mnt", slot->env.pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

/* Processes first: an init (PID 1) only becomes reapable once every process of its
 * namespace was reaped, including ours that joined it with setns(). Returns the env's mount
 * namespace held open (hold_mount_ns()), for the caller to close once it answered. */
static int close_env(struct server *s, struct env_slot *slot)
{
    int mount_ns = hold_mount_ns(slot);
    forwards_close_env(&s->fwd, slot->id);
    cancel_writes(s, slot->id, "the environment was closed");
    zygote_kill(&slot->zygote); /* it dies while the rest does; reaped below */
    env_kill(&slot->env);
    for (size_t i = 0; i < s->n_procs; i++)
        if (s->procs[i]->env_id == slot->id)
            kill(s->procs[i]->pid, SIGKILL);
    for (size_t i = 0; i < s->n_procs;) {
        struct proc *p = s->procs[i];
        if (p->env_id != slot->id) {
            i++;
            continue;
        }
        int status = 0;
        wait_for(p->pid, &status);
        finish_proc(s, p, status); /* removes p: index i now holds another one */
    }
    if (!slot->dead) {
        wait_for(slot->env.pid, NULL);
        env_release(&slot->env);
    }
    zygote_stop(&slot->zygote);
    cgroup_kill(&slot->env.cg);  /* what left the namespaces' reach: the cgroup holds it */
    env_kill_strays(&slot->env); /* without pid: what double-forked away (none with a cgroup) */
    env_remove_cgroup(&slot->env);
    network_leave(&slot->net); /* the last member's leave destroys the switch namespace */
    remove_env(s, slot);
    return mount_ns;
}

static void handle_close(struct server *s, uint32_t id, const struct record *rec)
{
    struct env_slot *slot = find_env(s, record_get(rec, "env"));
    int mount_ns = -1;
    if (!slot)
        return (void)request_error(s, id, ESRCH, "no such environment");
    if (slot->creating)
        cancel_create(s, slot);
    else
        mount_ns = close_env(s, slot);
    struct record_builder rb = { 0 };
    send_record(&s->out, FRAME_ACK, id, &rb);
    if (mount_ns >= 0)
        close(mount_ns); /* the last reference: the env's mounts go now, after the answer */
}

/* The creating env a request must wait for: named by env= (not CLOSE), or its proc (STDIN,
 * STDIN-CLOSE, SIGNAL) is a SPAWN queued there. Parses a copy: parsing splits the payload. */
static struct env_slot *awaited_env(struct server *s, const struct frame *frame)
{
    struct frame copy = *frame;
    struct record rec;
    if (s->n_creating == 0 || frame->type == FRAME_CREATE || frame->type == FRAME_CLOSE)
        return NULL;
    copy.payload = xmalloc(frame->len + 1);
    memcpy(copy.payload, frame->payload, frame->len + 1);
    record_parse(&copy, &rec);
    const char *env_id = record_get(&rec, "env"), *proc_id = record_get(&rec, "proc");
    uint32_t proc = frame->type == FRAME_SIGNAL && proc_id ? (uint32_t)strtoul(proc_id, NULL, 10)
                                                           : frame->id;
    struct env_slot *found = NULL;
    for (size_t i = 0; i < s->n_envs && !found; i++) {
        struct env_slot *slot = s->envs[i];
        for (size_t k = 0; slot->creating && k < slot->n_queued && !found; k++)
            if ((slot->queued[k].type == FRAME_SPAWN && slot->queued[k].id == proc &&
                 (frame->type == FRAME_STDIN || frame->type == FRAME_STDIN_CLOSE ||
                  frame->type == FRAME_SIGNAL)) ||
                (slot->queued[k].type == FRAME_WRITE && slot->queued[k].id == frame->id &&
                 frame->type == FRAME_WRITE_DATA))
                found = slot;
    }
    if (!found && env_id && frame->type != FRAME_STDIN && frame->type != FRAME_STDIN_CLOSE &&
        frame->type != FRAME_WRITE_DATA) {
        found = find_env(s, env_id);
        found = found && found->creating ? found : NULL;
    }
    record_free(&rec);
    free(copy.payload);
    return found;
}

/* Takes the frame's payload (the caller's frame is left without one). */
static void enqueue(struct env_slot *slot, struct frame *frame)
{
    slot->queued = xrealloc(slot->queued, (slot->n_queued + 1) * sizeof *slot->queued);
    slot->queued[slot->n_queued++] = *frame;
    frame->payload = NULL;
}

static void dispatch(struct server *s, struct frame *frame)
{
    struct record rec;
    struct env_slot *awaited = awaited_env(s, frame);
    if (awaited)
        return enqueue(awaited, frame);
    if (frame->type == FRAME_STDIN || frame->type == FRAME_STDIN_CLOSE)
        return handle_stdin(s, frame, frame->type == FRAME_STDIN_CLOSE);
    if (frame->type == FRAME_WRITE_DATA)
        return handle_write_data(s, frame);
    record_parse(frame, &rec);
    switch (frame->type) {
    case FRAME_CREATE: handle_create(s, frame->id, &rec); break;
    case FRAME_SPAWN: handle_spawn(s, frame->id, &rec); break;
    case FRAME_SIGNAL: handle_signal(s, frame->id, &rec); break;
    case FRAME_UNAME: handle_uname(s, frame->id, &rec); break;
    case FRAME_SET_HOSTNAME: handle_set_hostname(s, frame->id, &rec); break;
    case FRAME_FORWARD: handle_forward(s, frame->id, &rec); break;
    case FRAME_HOST_PORT: handle_host_port(s, frame->id, &rec); break;
    case FRAME_WRITE: handle_write(s, frame->id, &rec); break;
    case FRAME_READ: handle_read(s, frame->id, &rec); break;
    case FRAME_CLOSE: handle_close(s, frame->id, &rec); break;
    default: request_error(s, frame->id, EINVAL, "unknown frame type"); break;
    }
    record_free(&rec);
}

/* ---- the loop ---- */

static NORETURN void shut_down(struct server *s)
{
    for (size_t i = 0; i < s->n_envs; i++) {
        zygote_kill(&s->envs[i]->zygote);
        env_kill(&s->envs[i]->env);
        cgroup_kill(&s->envs[i]->env.cg);
    }
    for (size_t i = 0; i < s->n_procs; i++)
        kill(s->procs[i]->pid, SIGKILL);
    /* By pid, processes before inits: the lock keeper, also our child, lives until we exit. */
    for (size_t i = 0; i < s->n_procs; i++)
        wait_for(s->procs[i]->pid, NULL);
    for (size_t i = 0; i < s->n_envs; i++) {
        if (!s->envs[i]->dead)
            wait_for(s->envs[i]->env.pid, NULL);
        zygote_stop(&s->envs[i]->zygote); /* killed above: reaped here */
    }
    pid_t left;
    while ((left = waitpid(-1, NULL, __WALL | WNOHANG)) > 0 || (left < 0 && errno == EINTR))
        ; /* whatever else already exited */
    for (size_t i = 0; i < s->n_envs; i++) {
        env_release(&s->envs[i]->env);
        env_kill_strays(&s->envs[i]->env);
        env_remove_cgroup(&s->envs[i]->env);
    }
    if (!real_root())
        rmdir(s->mnt_dir); /* never the shared ROOT_MNT_DIR: a mount point in others' namespaces */
    state_dir_remove(s->state_dir); /* the JVM created it; only if it is empty now */
    lock_keeper_stop(); /* after env_remove_cgroup(): the ranges are free only now */
    helper_identity_release();
    exit(0);
}

/* Returns the count of stdin, signalfd, process and creating envs' status fds (owner NULL);
 * forward.c's follow, up to *total. */
static size_t collect_pollfds(struct server *s, struct pollfd **fds, struct proc ***owners,
                              size_t *total)
{
    size_t cap = 2 + 3 * s->n_procs + s->n_creating + forwards_pollfd_count(&s->fwd), n = 2;
    *fds = xrealloc(*fds, cap * sizeof **fds);
    *owners = xrealloc(*owners, cap * sizeof **owners);
    (*fds)[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
    (*fds)[1] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
    for (size_t i = 0; i < s->n_procs; i++) {
        struct proc *p = s->procs[i];
        int fd[3] = { p->out_fd, p->err_fd, p->pending_len ? p->in_fd : -1 };
        for (int k = 0; k < 3; k++) {
            if (fd[k] < 0)
                continue;
            (*fds)[n] = (struct pollfd){ .fd = fd[k], .events = k < 2 ? POLLIN : POLLOUT };
            (*owners)[n++] = p;
        }
    }
    for (size_t i = 0; i < s->n_envs; i++) {
        if (!s->envs[i]->creating)
            continue;
        (*fds)[n] = (struct pollfd){ .fd = s->envs[i]->env.report_fd, .events = POLLIN };
        (*owners)[n++] = NULL; /* serve_create_fd() finds the env by its fd */
    }
    *total = n + forwards_collect(&s->fwd, *fds + n);
    return n;
}

/* The status pipe of an env being created (still that env's: fds are unique while open). */
static void serve_create_fd(struct server *s, const struct pollfd *pfd)
{
    for (size_t i = 0; pfd->revents && i < s->n_envs; i++) {
        struct env_slot *slot = s->envs[i];
        if (slot->creating && slot->env.report_fd == pfd->fd)
            return advance_create(s, slot, NULL);
    }
}

static void serve_proc_fd(struct server *s, struct proc *p, const struct pollfd *pfd)
{
    if (!pfd->revents || find_proc(s, p->id) != p)
        return;
    if (pfd->fd == p->out_fd)
        forward_output(s, p, &p->out_fd, FRAME_STDOUT);
    else if (pfd->fd == p->err_fd)
        forward_output(s, p, &p->err_fd, FRAME_STDERR);
    else if (pfd->fd == p->in_fd)
        flush_stdin(s, p);
}

/* A frame over FRAME_MAX (its bytes are skipped): that request alone fails; STDIN data is dropped. */
static void refuse_oversized(struct server *s, const struct frame *frame)
{
    char what[160];
    if (frame->type == FRAME_STDIN)
        return;
    if (frame->type == FRAME_WRITE_DATA) { /* its WRITE fails: the file would lack those bytes */
        for (size_t i = 0; i < s->n_writes; i++)
            if (s->writes[i].id == frame->id) {
                struct failure f;
                errno = E2BIG;
                fail(&f, "request", "write", s->writes[i].path, "a WRITE-DATA frame over FRAME_MAX");
                return end_write(s, i, &f);
            }
        return;
    }
    snprintf(what, sizeof what, "a frame of %zu bytes exceeds the limit of %u bytes (FRAME_MAX)",
             frame->len + 5, FRAME_MAX);
    request_error(s, frame->id, E2BIG, what);
}

static void read_requests(struct server *s)
{
    ssize_t n = reader_fill(&s->in, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
        shut_down(s);
    struct frame frame;
    int rc;
    while ((rc = reader_next(&s->in, &frame)) > 0) {
        if (rc == 2)
            refuse_oversized(s, &frame);
        else
            dispatch(s, &frame);
        free(frame.payload);
    }
    if (rc < 0) {
        fputs("isolated-helper: serve: malformed frame (length under 5): shutting down\n", stderr);
        shut_down(s);
    }
}

static int prepare_server(struct server *s, const char *state_dir, struct failure *f)
{
    memset(s, 0, sizeof *s);
    s->state_dir = state_dir;
    s->out.fd = 1;
    /* The inits mount their private tmpfs there, already as their range's root (env.c): as root
     * on a path everyone may search, as the state dir (0700) is not; it stays empty on the host. */
    if (real_root())
        snprintf(s->mnt_dir, sizeof s->mnt_dir, "%s", ROOT_MNT_DIR);
    else
        snprintf(s->mnt_dir, sizeof s->mnt_dir, "%s/mnt", state_dir);
    fd_limit_raise(); /* commands get the original limits back (fdlimit.c) */
    ignore_signal(SIGPIPE);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    s->sig_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    s->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (s->sig_fd < 0 || s->null_fd < 0)
        return fail(f, "serve", "signalfd", "", NULL);
    if (make_helper_mounts_private(f) < 0 || forwards_init(&s->fwd, f) < 0)
        return -1;
    if ((real_root() && (make_dirs(ISOLATED_RUN_DIR, 0755) < 0 || chmod(ISOLATED_RUN_DIR, 0755) < 0)) ||
        (mkdir(s->mnt_dir, real_root() ? 0755 : 0700) < 0 && errno != EEXIST))
        return fail(f, "serve", "mkdir", s->mnt_dir, "the state directory must exist and be writable");
    if (state_dir_lock(state_dir, f) < 0)
        return -1;
    state_dir_sweep(state_dir);
    helper_identity(); /* our lock, before the sweep and before any env cgroup is named */
    cgroup_sweep_dead();
    if (real_root())
        lock_keeper_start(); /* the envs' id range locks, out of our fd table (lockkeeper.c) */
    return 0;
}

int serve_main(const char *state_dir)
{
    static struct server server;
    struct server *s = &server;
    struct failure f;
    if (prepare_server(s, state_dir, &f) < 0)
        die_with(&f, EXIT_SETUP_FAILED);
    struct record_builder rb = { 0 };
    record_add(&rb, "version", "%s", HELPER_VERSION);
    record_add(&rb, "pid", "%d", getpid());
    send_record(&s->out, FRAME_READY, 0, &rb);
    struct pollfd *fds = NULL;
    struct proc **owners = NULL;
    while (!s->out.broken) {
        size_t total, n = collect_pollfds(s, &fds, &owners, &total);
        if (poll(fds, total, earliest_timeout(walk_timeout(s), forwards_timeout(&s->fwd))) < 0)
            continue;
        for (size_t i = 2; i < n; i++) {
            if (owners[i])
                serve_proc_fd(s, owners[i], &fds[i]);
            else
                serve_create_fd(s, &fds[i]);
        }
        forwards_serve(&s->fwd, fds + n, total - n);
        reap_hung_up(s);
        if (fds[1].revents)
            reap_children(s);
        if (s->walk_due && walk_timeout(s) == 0)
            walk_children(s);
        if (fds[0].revents)
            read_requests(s);
    }
    shut_down(s);
}
