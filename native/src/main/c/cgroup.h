/*
 * cgroup.h - one cgroup per environment (v2, else v1), with memory/pids/cpu limits.
 */
#ifndef ISOLATED_CGROUP_H
#define ISOLATED_CGROUP_H

#include <stdbool.h>
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
    char *dir[CG_COUNT];    /* v1: one per controller in use; v2: dir[0] only */
    int procs_fd[CG_COUNT]; /* their cgroup.procs, O_WRONLY|O_CLOEXEC; -1 when unused */
    int dir_fd;             /* v2: the directory, for CLONE_INTO_CGROUP; else -1 */
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
 * fails (stage `cgroup`) when a requested controller cannot be used. */
int cgroup_create(const struct cgroup_limits *lim, const char *name, struct cgroup_env *cg,
                  struct failure *f);
/* For `enter`: opens, in cg, the cgroup.procs of PID's cgroup in every mounted hierarchy
 * (v1 lines, the v2 line) where it differs from ours; cgroup_enter() then moves there. */
int cgroup_attach(pid_t pid, struct cgroup_env *cg, struct failure *f);
/* Moves PID (0: the caller) into every cgroup of the env (and every joined one). */
int cgroup_enter(const struct cgroup_env *cg, pid_t pid, struct failure *f);
/* The env's oom_kill counter (memory.events / memory.oom_control); -1 when unknown. */
long long cgroup_oom_kills(const struct cgroup_env *cg);
/* Once every process of the env is reaped: closes fds and removes the directories. */
void cgroup_remove(struct cgroup_env *cg);

/* At a serving helper's start: rmdir()s the env cgroups (`isolated-<pid>-<id>` next to ours)
 * of helpers no longer running; one that still holds a process stays. */
void cgroup_sweep_dead(void);

/* For `probe`: "v2 DIR" / "v1 DIR" when CONTROLLER can be limited by this user, else -1
 * with *f. */
int cgroup_probe(enum cg_controller c, char *detail, size_t size, struct failure *f);

#endif
