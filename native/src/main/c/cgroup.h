/*
 * cgroup.h - one cgroup per environment (v2, else v1): what tracks and kills its processes,
 * and where its memory/pids/cpu limits apply.
 */
#ifndef ISOLATED_CGROUP_H
#define ISOLATED_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

enum cg_controller { CG_MEMORY, CG_PIDS, CG_CPU, CG_COUNT };

#define CG_JOIN_MAX 16 /* hierarchies `enter` may join: v2 plus every v1 one */

struct cgroup_limits {
    bool wanted;                   /* cgroup=true: memory + pids accounting without limits */
    unsigned long long memory_max; /* bytes; 0: none */
    long long pids_max;            /* 0: none */
    long long cpu_quota_us, cpu_period_us; /* quota 0: none */
};

struct cgroup_env {
    int version;            /* 0: none, 1 or 2 */
    bool accounting;        /* limits or cgroup=true were asked: CREATED reports the dirs */
    bool killed;            /* cgroup_kill() ran (at CLOSE: nothing is spawned into it after) */
    char *dir[CG_COUNT];    /* v1: one per controller in use; v2: dir[0] only */
    int procs_fd[CG_COUNT]; /* their cgroup.procs, O_WRONLY|O_CLOEXEC; -1 when unused */
    int dir_fd;             /* v2: the directory, for CLONE_INTO_CGROUP; else -1 */
    char *freezer_dir;      /* v1: the env's freezer cgroup, where cgroup_kill() freezes; NULL */
    int freezer_fd;         /* its cgroup.procs, like procs_fd; -1 when unused */
    /* `enter`: the cgroup.procs of every hierarchy where the target's cgroup differs from
     * ours (cgroup_attach); joined like procs_fd, never removed. */
    int n_joined;
    int joined_fd[CG_JOIN_MAX];
    char *joined_dir[CG_JOIN_MAX];
};

extern const char *const CG_NAMES[CG_COUNT];

bool cgroup_limits_any(const struct cgroup_limits *lim);
void cgroup_env_init(struct cgroup_env *cg);
/* Creates the env's cgroup(s) named NAME under the helper's own and applies the limits;
 * fails (stage `cgroup`) when a requested controller cannot be used. Without limits it only
 * tracks: where no cgroup can be made (rootless without delegation, v1 without freezer) it
 * returns 0 with cg->version 0, and cgroup_untracked() says why. */
int cgroup_create(const struct cgroup_limits *lim, const char *name, struct cgroup_env *cg,
                  struct failure *f);
/* For `enter`: opens, in cg, the cgroup.procs of PID's cgroup in every mounted hierarchy
 * (v1 lines, the v2 line) where it differs from ours; cgroup_enter() then moves there. */
int cgroup_attach(pid_t pid, struct cgroup_env *cg, struct failure *f);
/* Moves PID (0: the caller) into every cgroup of the env (and every joined one). */
int cgroup_enter(const struct cgroup_env *cg, pid_t pid, struct failure *f);
/* Closes the fds cgroup_create() opened (the directory for CLONE_INTO_CGROUP, cgroup.procs):
 * once the init is in, cgroup_enter() opens cgroup.procs by path for each write, so that an
 * open env costs the helper no fd here. */
void cgroup_close_fds(struct cgroup_env *cg);
/* Opens them again (cgroup.procs of each hierarchy), for a process that will write to them from
 * where the paths do not resolve (a zygote, chrooted into its env: zygote.c). */
int cgroup_open_fds(struct cgroup_env *cg, struct failure *f);
/* The env's oom_kill counter (memory.events / memory.oom_control); -1 when unknown. */
long long cgroup_oom_kills(const struct cgroup_env *cg);
/* Why the last env without limits got no cgroup ("mkdir DIR: Permission denied"), else "". */
const char *cgroup_untracked(void);
/* The directory whose kill switch cgroup_kill() uses (v2: the env's; v1: its freezer cgroup,
 * else its first one); NULL without a cgroup. */
const char *cgroup_kill_dir(const struct cgroup_env *cg);
/* SIGKILLs every process in the env's cgroup and below, wherever in the namespaces it went
 * (v2: cgroup.kill; else frozen, each pid of cgroup.procs killed, thawed), then waits (bounded)
 * until none is left. A no-op without a cgroup. */
void cgroup_kill(struct cgroup_env *cg);
/* Kills what is left (cgroup_kill(), unless it ran), closes fds and removes the directories
 * (and any a process inside made below them). */
void cgroup_remove(struct cgroup_env *cg);

/* At a serving helper's start: for every dead helper (its lock file exists and nobody holds it,
 * statedir.c), kills every process in its env cgroups (`isolated-<pid>-<token>-<id>`,
 * `isolated-run-<pid>-<token>`) next to ours and in the bases its lock file records
 * (cgroup_bases_record()), rmdir()s them, then unlinks its lock file - only when none is left. */
void cgroup_sweep_dead(void);

#define CG_RECORD_MAX 8192
/* Where this helper makes env cgroups, one "VERSION DIR" line per hierarchy (2: v2, 1: the v1
 * freezer, 0: another v1 one): what its lock file records for the sweepers of other helpers
 * (of other JVMs, whose cgroups differ from ours). */
void cgroup_bases_record(char *buf, size_t size);
/* True when one of our envs' cgroups could not be removed: our lock file then stays at exit,
 * so that the next helper finishes. */
bool cgroup_left_behind(void);

/* For `probe`: "v2 DIR" / "v1 DIR" when CONTROLLER can be limited by this user, else -1
 * with *f. */
int cgroup_probe(enum cg_controller c, char *detail, size_t size, struct failure *f);

#endif
