/*
 * options.h - the environment's and the process's optional settings, shared by the serve
 * protocol (CREATE/SPAWN fields, TAB-separated) and the command line (`:`-separated).
 */
#ifndef ISOLATED_OPTIONS_H
#define ISOLATED_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "binds.h"
#include "cgroup.h"
#include "env.h"
#include "harden.h"
#include "net.h"
#include "util.h"

struct env_options {
    struct extra_mount *mounts;
    size_t n_mounts;
    bool readonly_root;
    enum user_map user_map; /* with user: root (default), self or subids */
    bool time_offsets;
    long long monotonic_offset, boottime_offset;
    struct cgroup_limits limits;
    char network[NETWORK_NAME_MAX + 1]; /* "": on no private network (serve only) */
    struct env_policy policy; /* handed to the env by env_options_take_policy() */
    char *layers[MAX_LAYERS + 1]; /* layer=, topmost first (one more: refused by env_start) */
    size_t n_layers;
    char *upper_dir;              /* upper-dir= */
    char upper_size[32];          /* upper-size=: "" the kernel's default */
};

void env_options_init(struct env_options *o);
void env_options_free(struct env_options *o);
/* KEY is a CREATE field name (bind, ro-bind, tmpfs, readonly-root, user-map, caps, rlimit,
 * seccomp, time-offset, memory-max, pids-max, cpu-max, cgroup, network); SEP separates a value's parts.
 * Returns 1 when handled, 0 for another key, -1 with *f for a bad value. */
int env_options_apply(struct env_options *o, const char *key, const char *value, char sep,
                      struct failure *f);
/* Points the spec's fields at o's (o must outlive env_create()). */
void env_options_to_spec(const struct env_options *o, struct env_spec *spec);
/* Moves the policy (caps, rlimits, seccomp) into the created env. */
void env_options_take_policy(struct env_options *o, struct env *env);

/* KEY is a SPAWN field (uid, gid, umask, caps); same return values. */
int exec_options_apply(struct exec_policy *p, const char *key, const char *value,
                       struct failure *f);

#endif
