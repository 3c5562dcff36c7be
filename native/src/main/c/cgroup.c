/*
 * cgroup.c - the environment's cgroup.
 *
 * - Every env gets one, limits or not: it is what tracks the env's processes. A process leaves
 *   its cgroup only by writing its pid into another cgroup's cgroup.procs: an env has no /sys,
 *   and in its own cgroup namespace a cgroupfs mounted inside shows only the env's subtree;
 *   but without pid and user (host root) the host's cgroupfs is reachable through
 *   /proc/P/root of a host process (PROTOCOL.md).
 * - cgroup_kill() kills the cgroup and everything below it: v2 writes "1" to cgroup.kill
 *   (Linux 5.14), else it freezes (v2 cgroup.freeze, v1 the freezer controller's
 *   freezer.state: no fork in between), SIGKILLs every pid in cgroup.procs, thaws; then it
 *   kills what is listed, in rounds, until no process is left (2 s at most); on v2 a
 *   cgroup.events that says `populated 0` after the kill ends it at once (the usual case: the
 *   init's death took its PID namespace along). Without limits a cgroup that cannot be made (rootless and
 *   not delegated, v1 without a freezer hierarchy) is no error: the env is tracked by its
 *   namespaces only (env_kill_strays()); cgroup_untracked() says why.
 * - With any limit (cpu alone too) memory and pids are enabled as well where the host offers them
 *   (same version), for the counts the JVM reads (resourceUsage()); their lack is no error.
 * - The helper's own cgroups come from /proc/self/cgroup and the cgroup mounts of
 *   /proc/self/mountinfo (read once). v2 is used when its cgroup.controllers offers every
 *   needed controller; else v1 when each one has a hierarchy (hybrid hosts); else the
 *   CREATE fails with stage `cgroup` - a requested limit is never silently ignored.
 * - v2: the env is a leaf `isolated-<helperpid>-<token>-<envid>` next to the helper's (<pid>-<token>:
 *   the helper's identity, statedir.c). Enabling
 *   controllers in cgroup.subtree_control needs the parent free of processes ("no internal
 *   processes"): on EBUSY every process of it (the helper, the JVM) is moved into the leaf
 *   `isolated-leaf` first, as a delegated cgroup's owner is expected to do; and before enabling
 *   anything at all where processes are (but in the root cgroup), since pids or cpu alone would be
 *   enabled there and make the base a thread root, where no env cgroup can be made. A helper started
 *   in such a leaf (by a JVM moved there earlier) uses the leaf's parent as its base: envs
 *   and leaf stay siblings, never nested deeper with every helper.
 * - v1: one directory per controller in use (memory, pids, cpu) under the helper's own, and
 *   one in the freezer hierarchy when it is mounted (the kill switch).
 * - The init is placed by the helper (CLONE_INTO_CGROUP, else a write to cgroup.procs while
 *   it waits on its sync pipe); a spawned command's intermediate process writes "0" to the
 *   cgroup.procs fds itself before it joins the env, so the command starts inside.
 * - Removal kills what is left, then rmdir()s the env's cgroup (the usual case: empty, nothing
 *   below), else bottom-up (a root inside may have made cgroups below), retrying briefly on EBUSY. A helper killed by SIGKILL cannot: the next serving
 *   helper, for every helper that is dead - its lock file (statedir.c) exists and nobody holds
 *   it - kills what is in each of its `isolated-<pid>-<token>-<id>` (`isolated-run-<pid>-<token>`)
 *   next to our own cgroups and in the bases its lock file records (cgroup_bases_record(): a
 *   helper of another JVM may sit in other cgroups, e.g. a v1 memory cgroup per JVM, and could
 *   not reach them otherwise), removes them, and unlinks the lock file only when none is left:
 *   else a later helper finishes. Never by <pid> alone: a helper of another pid namespace sharing
 *   the cgroup parent (containers, a JVM in a pid namespace) has no lock file in our lock
 *   directory, or a held one, so it is never taken for dead. A daemon of such an env (without
 *   pid, nothing else kills it) dies there. A helper exiting cleanly keeps its lock file as well
 *   when one of its cgroups could not be removed (cgroup_left_behind()).
 * - `enter` (cgroup_attach): every line of /proc/PID/cgroup (v1 hierarchies, the v2 line)
 *   whose path differs from ours is located through /proc/self/mountinfo and its
 *   cgroup.procs opened; the command's intermediate writes itself there like a SPAWN's.
 *   A hierarchy that is not mounted is skipped (the helper cannot have limited it either);
 *   one that is mounted but refuses us is an error, never an escape from the env's limits.
 */
#include "cgroup.h"
#include "statedir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

const char *const CG_NAMES[CG_COUNT] = { "memory", "pids", "cpu" };

#define DELEGATE_HINT_V2 \
    "delegate the cgroup to this user, e.g. run the tests under `systemd-run --user --scope " \
    "-p Delegate=yes ...` (memory pids cpu), or run as root"
#define HINT_V1 \
    "cgroup v1 cannot be delegated safely: run as root, or on a cgroup v2 host delegate the " \
    "cgroup (systemd-run --user --scope -p Delegate=yes)"

#define HINT_READ_ONLY \
    "the cgroup file system is mounted read-only here (as in a container that is not " \
    "privileged): mount it read-write (for a container: a writable /sys/fs/cgroup, e.g. " \
    "docker run --privileged), or run without cgroup limits"

/* A failure of stage cgroup. On a read-only cgroup file system (EROFS) the hint says so
 * whatever HINT (delegation, root) says: neither would help there, not even as root. */
static int cg_fail(struct failure *f, const char *syscall, const char *path, const char *hint)
{
    if (errno == EROFS)
        hint = HINT_READ_ONLY;
    return hint ? fail(f, "cgroup", syscall, path, "%s", hint)
                : fail(f, "cgroup", syscall, path, NULL);
}

struct own_cgroups {
    bool loaded;
    char v2[PATH_MAX];              /* the helper's v2 cgroup dir, "" if none */
    char v2_base[PATH_MAX];         /* where env cgroups go: v2, or its parent if v2 is our leaf */
    char v1[CG_COUNT][PATH_MAX];    /* per controller, "" if no hierarchy */
    char v1_freezer[PATH_MAX];      /* the freezer hierarchy's, "" if none */
    char untracked[PATH_MAX + 64];  /* why the last env without limits got no cgroup, "" */
};

static struct own_cgroups own;

bool cgroup_limits_any(const struct cgroup_limits *lim)
{
    return lim->wanted || lim->memory_max || lim->pids_max || lim->cpu_quota_us;
}

void cgroup_env_init(struct cgroup_env *cg)
{
    memset(cg, 0, sizeof *cg);
    for (int i = 0; i < CG_COUNT; i++)
        cg->procs_fd[i] = -1;
    cg->dir_fd = -1;
    cg->freezer_fd = -1;
    cg->n_joined = 0;
}

static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ',' || p[-1] == ' ') && (p[n] == ',' || p[n] == ' ' ||
                                                            p[n] == '\0' || p[n] == '\n'))
            return true;
    return false;
}

/* DIR = mount point + (cgroup path below the mount's root). */
static void join_cgroup_path(char *out, const char *mnt, const char *mnt_root, const char *cg)
{
    size_t n = strlen(mnt_root);
    if (strcmp(mnt_root, "/") != 0 && strncmp(cg, mnt_root, n) == 0)
        cg += n;
    snprintf(out, PATH_MAX, "%s%s", mnt, strcmp(cg, "/") == 0 ? "" : cg);
}

/* Per /proc/self/cgroup line "ID:CONTROLLERS:PATH": the matching mount's directory. */
static void match_mount(const char *root, const char *mnt, const char *fstype, const char *opts,
                        FILE *cgroups)
{
    char line[PATH_MAX + 128];
    rewind(cgroups);
    while (fgets(line, sizeof line, cgroups)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        c2[1 + strcspn(c2 + 1, "\n")] = '\0';
        const char *ctrls = c1 + 1, *path = c2 + 1;
        if (strcmp(fstype, "cgroup2") == 0 && *ctrls == '\0')
            join_cgroup_path(own.v2, mnt, root, path);
        for (int i = 0; strcmp(fstype, "cgroup") == 0 && i < CG_COUNT; i++)
            if (has_word(ctrls, CG_NAMES[i]) && has_word(opts, CG_NAMES[i]) && !own.v1[i][0])
                join_cgroup_path(own.v1[i], mnt, root, path);
        if (strcmp(fstype, "cgroup") == 0 && has_word(ctrls, "freezer") &&
            has_word(opts, "freezer") && !own.v1_freezer[0])
            join_cgroup_path(own.v1_freezer, mnt, root, path);
    }
}

#define LEAF_NAME "isolated-leaf"

static void set_v2_base(void)
{
    const char *slash = strrchr(own.v2, '/');
    size_t n = slash && strcmp(slash + 1, LEAF_NAME) == 0 ? (size_t)(slash - own.v2) : strlen(own.v2);
    snprintf(own.v2_base, sizeof own.v2_base, "%.*s", (int)n, own.v2);
}

static void load_own_cgroups(void)
{
    if (own.loaded)
        return;
    own.loaded = true;
    FILE *info = fopen("/proc/self/mountinfo", "re"), *cgroups = fopen("/proc/self/cgroup", "re");
    char line[4096];
    while (info && cgroups && fgets(line, sizeof line, info)) {
        char root[PATH_MAX], mnt[PATH_MAX], fstype[32], opts[512];
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
            sscanf(dash + 3, "%31s %*s %511s", fstype, opts) != 2)
            continue;
        if (strcmp(fstype, "cgroup2") == 0 || strcmp(fstype, "cgroup") == 0)
            match_mount(root, mnt, fstype, opts, cgroups);
    }
    if (info)
        fclose(info);
    if (cgroups)
        fclose(cgroups);
    set_v2_base();
}

static int read_text(const char *dir, const char *name, char *buf, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read_all(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n < 0 ? -1 : 0;
}

static int write_text(const char *dir, const char *name, const char *text, struct failure *f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (write_file(path, text) < 0)
        return cg_fail(f, "write", path, errno == EACCES || errno == EPERM
                    ? (own.v2[0] && strncmp(dir, own.v2_base, strlen(own.v2_base)) == 0
                       ? DELEGATE_HINT_V2 : HINT_V1)
                    : "the kernel refused the value");
    return 0;
}

static unsigned needed_controllers(const struct cgroup_limits *lim)
{
    unsigned need = 0;
    if (lim->memory_max || lim->wanted)
        need |= 1u << CG_MEMORY;
    if (lim->pids_max || lim->wanted)
        need |= 1u << CG_PIDS;
    if (lim->cpu_quota_us)
        need |= 1u << CG_CPU;
    return need;
}

/* The controllers of MASK that the v2 base does not offer (all of them without cgroup2). */
static unsigned v2_lacks(unsigned mask)
{
    char controllers[512];
    unsigned lacking = 0;
    if (!own.v2[0] || mask == 0)
        return own.v2[0] ? 0 : mask; /* tracking only: no controller to ask for */
    if (read_text(own.v2_base, "cgroup.controllers", controllers, sizeof controllers) < 0)
        return mask;
    for (int i = 0; i < CG_COUNT; i++)
        if ((mask & (1u << i)) && !has_word(controllers, CG_NAMES[i]))
            lacking |= 1u << i;
    return lacking;
}

/* The controllers of MASK that have a v1 hierarchy. */
static unsigned v1_mounted(unsigned mask)
{
    unsigned mounted = 0;
    for (int i = 0; i < CG_COUNT; i++)
        if ((mask & (1u << i)) && own.v1[i][0])
            mounted |= 1u << i;
    return mounted;
}

/* Every process of BASE into BASE/isolated-leaf, so that BASE may enable controllers. */
static int move_into_leaf(const char *base, struct failure *f)
{
    char leaf[PATH_MAX + 32], procs[65536];
    snprintf(leaf, sizeof leaf, "%s/" LEAF_NAME, base);
    if (mkdir(leaf, 0755) < 0 && errno != EEXIST)
        return cg_fail(f, "mkdir", leaf, DELEGATE_HINT_V2);
    if (write_text(leaf, "cgroup.procs", "0", f) < 0)
        return -1;
    if (read_text(base, "cgroup.procs", procs, sizeof procs) < 0)
        return fail(f, "cgroup", "read", base, DELEGATE_HINT_V2);
    for (char *save = NULL, *pid = strtok_r(procs, "\n", &save); pid;
         pid = strtok_r(NULL, "\n", &save))
        (void)write_text(leaf, "cgroup.procs", pid, f); /* may have exited meanwhile */
    return 0;
}

static int v2_enable(unsigned need, struct failure *f)
{
    char enable[64] = "", current[512] = "";
    const char *v2_base = own.v2_base;
    if (need == 0)
        return 0;
    (void)read_text(v2_base, "cgroup.subtree_control", current, sizeof current);
    for (int i = 0; i < CG_COUNT; i++)
        if ((need & (1u << i)) && !has_word(current, CG_NAMES[i]))
            snprintf(enable + strlen(enable), sizeof enable - strlen(enable), "+%s ", CG_NAMES[i]);
    if (!enable[0])
        return 0;
    char path[PATH_MAX + 32], procs[16];
    /* Only threaded controllers (pids, cpu) are enabled even where processes are: the base, not the root
     * cgroup (which has no cgroup.type), then becomes a thread root, and every domain controller and every
     * env cgroup below it fail with EOPNOTSUPP from then on. So its processes go into the leaf first, as
     * for the EBUSY a domain controller gets. */
    snprintf(path, sizeof path, "%s/cgroup.type", v2_base);
    bool thread_root_risk = access(path, F_OK) == 0;
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", v2_base);
    if (thread_root_risk && access(path, W_OK) == 0 && /* not ours to change: the write below says so */
        read_text(v2_base, "cgroup.procs", procs, sizeof procs) == 0 && procs[0] && move_into_leaf(v2_base, f) < 0)
        return -1;
    if (write_file(path, enable) == 0)
        return 0;
    if (errno != EBUSY)
        return cg_fail(f, "write", path, DELEGATE_HINT_V2);
    if (move_into_leaf(v2_base, f) < 0)
        return -1;
    if (write_file(path, enable) < 0)
        return cg_fail(f, "write", path,
                    "the cgroup has processes that could not be moved into a leaf: "
                    DELEGATE_HINT_V2);
    return 0;
}

static int make_dir(char **out, const char *base, const char *name, struct failure *f,
                    const char *hint)
{
    *out = xasprintf("%s/%s", base, name);
    if (mkdir(*out, 0755) < 0)
        return cg_fail(f, "mkdir", *out, hint);
    return 0;
}

static int open_procs(struct cgroup_env *cg, int i, struct failure *f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cgroup.procs", cg->dir[i]);
    cg->procs_fd[i] = open(path, O_WRONLY | O_CLOEXEC);
    if (cg->procs_fd[i] < 0)
        return cg_fail(f, "open", path, NULL);
    return 0;
}

static int apply_limits(const struct cgroup_limits *lim, const struct cgroup_env *cg,
                        struct failure *f)
{
    char v[64];
    const char *mem = cg->dir[cg->version == 2 ? 0 : CG_MEMORY];
    const char *pids = cg->dir[cg->version == 2 ? 0 : CG_PIDS];
    const char *cpu = cg->dir[cg->version == 2 ? 0 : CG_CPU];
    bool v2 = cg->version == 2;
    if (lim->memory_max) {
        snprintf(v, sizeof v, "%llu", lim->memory_max);
        if (write_text(mem, v2 ? "memory.max" : "memory.limit_in_bytes", v, f) < 0)
            return -1;
        /* without swap the limit is the limit (best effort: swap accounting may be off) */
        struct failure ignored;
        (void)write_text(mem, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes",
                         v2 ? "0" : v, &ignored);
    }
    if (lim->pids_max) {
        snprintf(v, sizeof v, "%lld", lim->pids_max);
        if (write_text(pids, "pids.max", v, f) < 0)
            return -1;
    }
    if (lim->cpu_quota_us && v2) {
        snprintf(v, sizeof v, "%lld %lld", lim->cpu_quota_us, lim->cpu_period_us);
        return write_text(cpu, "cpu.max", v, f);
    }
    if (lim->cpu_quota_us) {
        snprintf(v, sizeof v, "%lld", lim->cpu_period_us);
        if (write_text(cpu, "cpu.cfs_period_us", v, f) < 0)
            return -1;
        snprintf(v, sizeof v, "%lld", lim->cpu_quota_us);
        return write_text(cpu, "cpu.cfs_quota_us", v, f);
    }
    return 0;
}

static int create_v2(unsigned need, const char *name, struct cgroup_env *cg, struct failure *f)
{
    cg->version = 2;
    if (v2_enable(need, f) < 0 || make_dir(&cg->dir[0], own.v2_base, name, f, DELEGATE_HINT_V2) < 0)
        return -1;
    cg->dir_fd = open(cg->dir[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg->dir_fd < 0)
        return cg_fail(f, "open", cg->dir[0], NULL);
    return open_procs(cg, 0, f);
}

static int create_v1(unsigned need, const char *name, struct cgroup_env *cg, struct failure *f)
{
    char procs[PATH_MAX + 16];
    cg->version = need || own.v1_freezer[0] ? 1 : 0;
    for (int i = 0; i < CG_COUNT; i++) {
        if (!(need & (1u << i)))
            continue;
        if (make_dir(&cg->dir[i], own.v1[i], name, f, HINT_V1) < 0 || open_procs(cg, i, f) < 0)
            return -1;
    }
    if (!own.v1_freezer[0] && need)
        return 0;
    for (int i = 0; i < CG_COUNT; i++) {
        if (cg->dir[i] && strcmp(own.v1[i], own.v1_freezer) == 0) { /* co-mounted */
            cg->freezer_dir = xstrdup(cg->dir[i]);
            return 0;
        }
    }
    errno = EOPNOTSUPP;
    if (!own.v1_freezer[0])
        return fail(f, "cgroup", "open", "freezer", "no cgroup v2 and no v1 freezer hierarchy");
    if (make_dir(&cg->freezer_dir, own.v1_freezer, name, f, HINT_V1) < 0)
        return -1;
    snprintf(procs, sizeof procs, "%s/cgroup.procs", cg->freezer_dir);
    if ((cg->freezer_fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0)
        return cg_fail(f, "open", procs, NULL);
    return 0;
}

/* Tracking only, and no cgroup could be made: the env goes without (cgroup_untracked()). */
static int track_without(struct cgroup_env *cg, const struct failure *f)
{
    cgroup_env_init(cg);
    snprintf(own.untracked, sizeof own.untracked, "%s %s: %s", f->syscall, f->path,
             strerror(f->err));
    return 0;
}

const char *cgroup_untracked(void)
{
    return own.untracked;
}

static int missing_controller(unsigned need, struct failure *f)
{
    for (int i = 0; i < CG_COUNT; i++) {
        if ((need & (1u << i)) && !own.v1[i][0]) {
            errno = EOPNOTSUPP;
            return fail(f, "cgroup", "open", CG_NAMES[i],
                        "the %s controller is neither in cgroup v2 (%s/cgroup.controllers) nor "
                        "mounted as v1: %s", CG_NAMES[i], own.v2[0] ? own.v2_base : "(no cgroup2)",
                        DELEGATE_HINT_V2);
        }
    }
    return 0;
}

int cgroup_create(const struct cgroup_limits *lim, const char *name, struct cgroup_env *cg,
                  struct failure *f)
{
    unsigned need = needed_controllers(lim);
    bool accounting = cgroup_limits_any(lim);
    /* what resourceUsage() counts, with any limit (cpu-max alone too) where the host has it */
    unsigned counters = accounting ? ((1u << CG_MEMORY) | (1u << CG_PIDS)) & ~need : 0;
    cgroup_env_init(cg);
    load_own_cgroups();
    int rc;
    unsigned lacking = v2_lacks(need | counters);
    if (own.v2[0] && !(lacking & need))
        rc = create_v2(need | (counters & ~lacking), name, cg, f);
    else if (missing_controller(need, f) < 0)
        return -1;
    else
        rc = create_v1(need | v1_mounted(counters), name, cg, f);
    if (rc == 0)
        rc = apply_limits(lim, cg, f);
    if (rc < 0) {
        struct failure saved = *f;
        cgroup_remove(cg);
        *f = saved;
        /* out of fds is the helper's state, not the host's lack of cgroups: fail */
        bool no_fds = f->err == EMFILE || f->err == ENFILE;
        return accounting || no_fds ? -1 : track_without(cg, f);
    }
    cg->accounting = accounting;
    return 0;
}

/* ---- `enter`: the cgroups of a running process ---- */

static char *read_proc_cgroup(pid_t pid, char *buf, size_t size)
{
    char dir[64];
    if (pid > 0)
        snprintf(dir, sizeof dir, "/proc/%d", (int)pid);
    else
        snprintf(dir, sizeof dir, "/proc/self");
    return read_text(dir, "cgroup", buf, size) < 0 ? NULL : buf;
}

/* The path of hierarchy KEY ("ID:CONTROLLERS:") in a /proc/PID/cgroup text, or NULL. */
static const char *path_in(const char *text, const char *key, char *out, size_t size)
{
    size_t n = strlen(key);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, n) == 0) {
            snprintf(out, size, "%.*s", (int)strcspn(line + n, "\n"), line + n);
            return out;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return NULL;
}

/* Does a mountinfo entry (fstype, super options) hold the hierarchy of CTRLS ("" = v2)? */
static bool mount_holds(const char *fstype, const char *opts, const char *ctrls)
{
    if (!*ctrls)
        return strcmp(fstype, "cgroup2") == 0;
    if (strcmp(fstype, "cgroup") != 0)
        return false;
    char copy[256], *save = NULL;
    snprintf(copy, sizeof copy, "%s", ctrls);
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save))
        if (!has_word(opts, w))
            return false;
    return true;
}

/* The directory of cgroup PATH in the hierarchy of CTRLS; false when it is not mounted. */
static bool locate_cgroup(const char *ctrls, const char *path, char *out)
{
    FILE *info = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    bool found = false;
    while (info && !found && fgets(line, sizeof line, info)) {
        char root[PATH_MAX], mnt[PATH_MAX], fstype[32], opts[512];
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
            sscanf(dash + 3, "%31s %*s %511s", fstype, opts) != 2)
            continue;
        size_t n = strlen(root);
        bool below = strcmp(root, "/") == 0 ||
                     (strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0'));
        if (below && mount_holds(fstype, opts, ctrls)) {
            join_cgroup_path(out, mnt, root, path);
            found = true;
        }
    }
    if (info)
        fclose(info);
    return found;
}

static int open_joined(struct cgroup_env *cg, const char *dir, struct failure *f)
{
    char procs[PATH_MAX + 16];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    if (cg->n_joined == CG_JOIN_MAX) {
        errno = E2BIG;
        return fail(f, "cgroup", "open", procs, "more than %d cgroup hierarchies", CG_JOIN_MAX);
    }
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return cg_fail(f, "open", procs, "the command must join the environment's cgroup "
                       "(its limits): run enter as the user that created the environment, or root");
    cg->joined_fd[cg->n_joined] = fd;
    cg->joined_dir[cg->n_joined++] = xstrdup(dir);
    return 0;
}

/* One hierarchy LINE ("ID:CONTROLLERS:PATH") of the target: joined when it differs. */
static int attach_line(struct cgroup_env *cg, const char *line, const char *ours,
                       struct failure *f)
{
    const char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char key[300], ctrls[256], mine[PATH_MAX], dir[PATH_MAX];
    if (!c2 || (size_t)(c2 - line) + 2 > sizeof key)
        return 0;
    snprintf(key, sizeof key, "%.*s", (int)(c2 - line + 1), line);
    snprintf(ctrls, sizeof ctrls, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
    const char *path = c2 + 1;
    if (path_in(ours, key, mine, sizeof mine) && strcmp(mine, path) == 0)
        return 0; /* the same cgroup: nothing to join */
    if (!locate_cgroup(ctrls, path, dir))
        return 0;
    return open_joined(cg, dir, f);
}

int cgroup_attach(pid_t pid, struct cgroup_env *cg, struct failure *f)
{
    char theirs[8192], ours[8192], where[64];
    snprintf(where, sizeof where, "/proc/%d/cgroup", (int)pid);
    if (!read_proc_cgroup(pid, theirs, sizeof theirs))
        return fail(f, "cgroup", "read", where, "the process is gone");
    if (!read_proc_cgroup(0, ours, sizeof ours))
        return fail(f, "cgroup", "read", "/proc/self/cgroup", NULL);
    char *save = NULL;
    for (char *line = strtok_r(theirs, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (attach_line(cg, line, ours, f) < 0)
            return -1;
    return 0;
}

/* Into FD (cgroup.procs), or with FD -1 into DIR/cgroup.procs opened for this write (an env
 * that is ready keeps no fd of its cgroup, see cgroup_close_fds()); nothing when both lack. */
static int write_pid(int fd, const char *dir, pid_t pid, struct failure *f)
{
    char text[24], path[PATH_MAX];
    int opened = -1;
    if (fd < 0 && dir) {
        snprintf(path, sizeof path, "%s/cgroup.procs", dir);
        if ((fd = opened = open(path, O_WRONLY | O_CLOEXEC)) < 0)
            return cg_fail(f, "open", path, NULL);
    }
    snprintf(text, sizeof text, "%d", (int)pid);
    int rc = fd >= 0 && write(fd, text, strlen(text)) < 0
                 ? fail(f, "cgroup", "write", dir, "could not move pid %d into the cgroup", (int)pid)
                 : 0;
    if (opened >= 0)
        close(opened);
    return rc;
}

int cgroup_open_fds(struct cgroup_env *cg, struct failure *f)
{
    for (int i = 0; i < CG_COUNT; i++)
        if (cg->dir[i] && cg->procs_fd[i] < 0 && open_procs(cg, i, f) < 0)
            return -1;
    if (cg->freezer_dir && cg->freezer_fd < 0) {
        char procs[PATH_MAX];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", cg->freezer_dir);
        if ((cg->freezer_fd = open(procs, O_WRONLY | O_CLOEXEC)) < 0)
            return cg_fail(f, "open", procs, NULL);
    }
    return 0;
}

void cgroup_close_fds(struct cgroup_env *cg)
{
    for (int i = 0; i < CG_COUNT; i++) {
        if (cg->procs_fd[i] >= 0)
            close(cg->procs_fd[i]);
        cg->procs_fd[i] = -1;
    }
    if (cg->freezer_fd >= 0)
        close(cg->freezer_fd);
    if (cg->dir_fd >= 0)
        close(cg->dir_fd);
    cg->freezer_fd = cg->dir_fd = -1;
}

int cgroup_enter(const struct cgroup_env *cg, pid_t pid, struct failure *f)
{
    for (int i = 0; i < CG_COUNT; i++)
        if (write_pid(cg->procs_fd[i], cg->dir[i], pid, f) < 0)
            return -1;
    for (int i = 0; i < cg->n_joined; i++)
        if (write_pid(cg->joined_fd[i], cg->joined_dir[i], pid, f) < 0)
            return -1;
    return write_pid(cg->freezer_fd, cg->freezer_dir, pid, f);
}

long long cgroup_oom_kills(const struct cgroup_env *cg)
{
    char text[2048];
    const char *dir = cg->dir[cg->version == 2 ? 0 : CG_MEMORY];
    if (!cg->accounting || !dir || read_text(dir, cg->version == 2 ? "memory.events" : "memory.oom_control", text,
                          sizeof text) < 0)
        return -1;
    const char *p = strstr(text, "oom_kill ");
    return p ? atoll(p + 9) : -1;
}

#define KILL_DEPTH 16          /* cgroups below the env's that kill and removal walk */
#define SETTLE_ROUNDS 2000     /* 1 ms pauses while a cgroup freezes or empties: 2 s at most */

static void pause_1ms(void)
{
    nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
}

/* Calls FN(path) for every cgroup directory below DIR, deepest first, then for DIR. */
static void each_cgroup(const char *dir, int depth, void (*fn)(const char *, void *), void *arg)
{
    DIR *d = depth < KILL_DEPTH ? opendir(dir) : NULL;
    struct dirent *e;
    char sub[PATH_MAX];
    while (d && (e = readdir(d)))
        if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) < (int)sizeof sub)
            each_cgroup(sub, depth + 1, fn, arg);
    if (d)
        closedir(d);
    fn(dir, arg);
}

/* Counts the pids in a cgroup.procs (walk_procs()), SIGKILLing them if asked. */
struct procs_walk {
    bool kill;
    int count;
};

static void walk_procs(const char *dir, void *arg)
{
    struct procs_walk *w = arg;
    char text[65536];
    if (read_text(dir, "cgroup.procs", text, sizeof text) < 0)
        return;
    for (char *save = NULL, *pid = strtok_r(text, "\n", &save); pid;
         pid = strtok_r(NULL, "\n", &save)) {
        w->count++;
        if (w->kill && atoi(pid) > 0 && atoi(pid) != getpid())
            kill(atoi(pid), SIGKILL); /* frozen (when freezing works): it cannot exit meanwhile */
    }
}

static int count_procs(const char *dir, bool kill_them)
{
    struct procs_walk w = { kill_them, 0 };
    each_cgroup(dir, 0, walk_procs, &w);
    return w.count;
}

/* Freezes (FROZEN) or thaws DIR: v2 cgroup.freeze, v1 freezer.state; false when it cannot. */
static bool set_frozen(const char *dir, int version, bool frozen)
{
    char path[PATH_MAX + 32], state[256];
    const char *file = version == 2 ? "cgroup.freeze" : "freezer.state";
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (write_file(path, version == 2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED")) < 0)
        return false;
    for (int round = 0; frozen && round < SETTLE_ROUNDS; round++, pause_1ms()) {
        const char *done = version == 2 ? "frozen 1" : "FROZEN";
        if (read_text(dir, version == 2 ? "cgroup.events" : "freezer.state", state,
                      sizeof state) < 0 || strstr(state, done))
            break;
    }
    return true;
}

/* Kills every process in DIR and below (see the header); VERSION 2 or 1 (a freezer dir) or 0
 * (a v1 dir without freezer: killed in rounds only). */
static void kill_cgroup_dir(const char *dir, int version)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/cgroup.kill", dir);
    if (version == 2 && write_file(path, "1") == 0) {
        /* the kernel killed the subtree, and what forks meanwhile; usually nothing was left
         * (the init's death took its PID namespace along): then one read says so */
        char events[256];
        if (read_text(dir, "cgroup.events", events, sizeof events) == 0 &&
            strstr(events, "populated 0\n"))
            return;
    } else if (version && set_frozen(dir, version, true)) {
        count_procs(dir, true); /* frozen: nothing forks, nothing exits, no pid is reused */
        set_frozen(dir, version, false);
    }
    /* Until it is empty: without a kill switch (or with more pids than one read shows) each
     * round kills what is listed, a fork in between is caught by the next. */
    for (int round = 0; round < SETTLE_ROUNDS && count_procs(dir, true) > 0; round++)
        pause_1ms();
}

const char *cgroup_kill_dir(const struct cgroup_env *cg)
{
    if (cg->version == 2)
        return cg->dir[0];
    if (cg->freezer_dir)
        return cg->freezer_dir;
    for (int i = 0; cg->version == 1 && i < CG_COUNT; i++)
        if (cg->dir[i])
            return cg->dir[i];
    return NULL;
}

void cgroup_kill(struct cgroup_env *cg)
{
    const char *dir = cgroup_kill_dir(cg);
    if (dir)
        kill_cgroup_dir(dir, cg->version == 2 ? 2 : dir == cg->freezer_dir ? 1 : 0);
    cg->killed = true;
}

static void remove_one(const char *dir, void *unused)
{
    (void)unused;
    for (int attempt = 0; attempt < 200; attempt++) {
        if (rmdir(dir) == 0 || errno != EBUSY)
            return;
        pause_1ms(); /* only while it still empties */
    }
    fprintf(stderr, "isolated-helper: cgroup: rmdir %s: %s\n", dir, strerror(errno));
}

static void remove_dir(const char *dir)
{
    each_cgroup(dir, 0, remove_one, NULL);
}

static bool left_behind; /* cgroup_left_behind() */

/* remove_dir() for one of our env's cgroups: notes when it stays (cgroup_left_behind()). */
static void remove_own(const char *dir)
{
    if (rmdir(dir) == 0)
        return; /* empty and without cgroups below: the usual case, no walk */
    remove_dir(dir);
    if (access(dir, F_OK) == 0)
        left_behind = true;
}

/* The helper identity (statedir.c) in NAME, an env cgroup's name (serve's
 * `isolated-<pid>-<token>-<id>`, run's `isolated-run-<pid>-<token>`), into IDENTITY; false
 * when NAME is none of ours. */
static bool env_cgroup_identity(const char *name, char *identity, size_t size)
{
    int pid, n = 0;
    unsigned id;
    char token[17];
    if (!(sscanf(name, "isolated-run-%d-%16[0-9a-f]%n", &pid, token, &n) == 2 && !name[n]) &&
        !(sscanf(name, "isolated-%d-%16[0-9a-f]-%u%n", &pid, token, &id, &n) == 3 && !name[n]))
        return false;
    return pid > 0 && strlen(token) == 16 && snprintf(identity, size, "%d-%s", pid, token) < (int)size;
}

/* A hierarchy where a helper makes env cgroups: VERSION as kill_cgroup_dir() (2: v2, 1: the v1
 * freezer, 0: another v1 one). */
struct sweep_base {
    int version;
    char dir[PATH_MAX];
};

#define SWEEP_BASES_MAX 16

static void add_base(struct sweep_base *b, int *n, int version, const char *dir)
{
    if (!dir[0] || dir[0] != '/' || *n == SWEEP_BASES_MAX)
        return;
    for (int i = 0; i < *n; i++)
        if (strcmp(b[i].dir, dir) == 0)
            return;
    b[*n].version = version;
    snprintf(b[*n].dir, sizeof b[*n].dir, "%s", dir);
    (*n)++;
}

static bool on_cgroupfs(const char *dir)
{
    struct statfs st;
    return statfs(dir, &st) == 0 &&
           (st.f_type == CGROUP_SUPER_MAGIC || st.f_type == CGROUP2_SUPER_MAGIC);
}

/* Our bases, then those of RECORD (a dead helper's lock file, cgroup_bases_record()). */
static int sweep_bases(const char *record, struct sweep_base *b)
{
    int n = 0;
    add_base(b, &n, 2, own.v2_base);
    add_base(b, &n, 1, own.v1_freezer);
    for (int i = 0; i < CG_COUNT; i++)
        add_base(b, &n, 0, own.v1[i]);
    char copy[CG_RECORD_MAX];
    snprintf(copy, sizeof copy, "%s", record);
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        if ((line[0] == '0' || line[0] == '1' || line[0] == '2') && line[1] == ' ' &&
            on_cgroupfs(line + 2)) /* else gone (nothing left there), or none of ours */
            add_base(b, &n, line[0] - '0', line + 2);
    return n;
}

/* IDENTITY's env cgroups in BASE: killed, removed; false when one is left (or BASE cannot be
 * read: a later sweeper may). A BASE that is gone holds none. */
static bool sweep_identity_in(const struct sweep_base *base, const char *identity)
{
    DIR *d = opendir(base->dir);
    if (!d)
        return errno == ENOENT || errno == ENOTDIR;
    bool clean = true;
    struct dirent *e;
    while ((e = readdir(d))) {
        char theirs[64], path[PATH_MAX];
        if (!env_cgroup_identity(e->d_name, theirs, sizeof theirs) || strcmp(theirs, identity) != 0 ||
            snprintf(path, sizeof path, "%s/%s", base->dir, e->d_name) >= (int)sizeof path)
            continue;
        int left = count_procs(path, false);
        kill_cgroup_dir(path, base->version);
        remove_dir(path);
        if (access(path, F_OK) < 0)
            fprintf(stderr, "isolated-helper: removed cgroup %s of a helper that died%s\n", path,
                    left ? " (and killed what was left in it)" : "");
        else
            clean = false;
    }
    closedir(d);
    return clean;
}

/* helper_identities_sweep()'s callback: every env cgroup of the dead IDENTITY in our bases and
 * the ones its RECORD names; true (its lock file may go) when none is left. */
static bool sweep_identity(const char *identity, const char *record)
{
    struct sweep_base bases[SWEEP_BASES_MAX];
    int n = sweep_bases(record, bases);
    bool clean = true;
    for (int version = 2; version >= 0; version--) /* the freezer before the other v1 ones */
        for (int i = 0; i < n; i++)
            if (bases[i].version == version && !sweep_identity_in(&bases[i], identity))
                clean = false;
    return clean;
}

void cgroup_sweep_dead(void)
{
    load_own_cgroups();
    helper_identities_sweep(sweep_identity);
}

void cgroup_bases_record(char *buf, size_t size)
{
    load_own_cgroups();
    struct sweep_base bases[SWEEP_BASES_MAX];
    int n = sweep_bases("", bases);
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + len, size - len, "%d %s\n", bases[i].version, bases[i].dir);
        if (w < 0 || (size_t)w >= size - len) {
            buf[len] = '\0'; /* whole lines only */
            return;
        }
        len += (size_t)w;
    }
}

bool cgroup_left_behind(void)
{
    return left_behind;
}

void cgroup_remove(struct cgroup_env *cg)
{
    if (!cg->killed)
        cgroup_kill(cg);
    for (int i = 0; i < CG_COUNT; i++) {
        if (cg->procs_fd[i] >= 0)
            close(cg->procs_fd[i]);
        if (cg->dir[i])
            remove_own(cg->dir[i]);
        free(cg->dir[i]);
    }
    if (cg->freezer_fd >= 0)
        close(cg->freezer_fd);
    if (cg->freezer_dir)
        remove_own(cg->freezer_dir);
    free(cg->freezer_dir);
    if (cg->dir_fd >= 0)
        close(cg->dir_fd);
    for (int i = 0; i < cg->n_joined; i++) {
        close(cg->joined_fd[i]);
        free(cg->joined_dir[i]);
    }
    cgroup_env_init(cg);
}

int cgroup_probe(enum cg_controller c, char *detail, size_t size, struct failure *f)
{
    load_own_cgroups();
    const char *dir = own.v2[0] && !v2_lacks(1u << c) ? own.v2_base : own.v1[c];
    if (!dir[0]) {
        errno = EOPNOTSUPP;
        return fail(f, "cgroup", "open", CG_NAMES[c], "no %s controller in cgroup v2 or v1: "
                    DELEGATE_HINT_V2, CG_NAMES[c]);
    }
    snprintf(detail, size, "v%d %s", dir == own.v2_base ? 2 : 1, dir);
    char procs[PATH_MAX + 32];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    if (access(dir, W_OK) < 0 || access(procs, W_OK) < 0)
        return cg_fail(f, "access", dir, dir == own.v2_base ? DELEGATE_HINT_V2 : HINT_V1);
    return 0;
}
