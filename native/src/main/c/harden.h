/*
 * harden.h - what every command gets right before execve(): ids, umask, rlimits, a fresh
 * session keyring, capabilities, no_new_privs, the default and an optional seccomp filter.
 */
#ifndef ISOLATED_HARDEN_H
#define ISOLATED_HARDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "seccomp.h"
#include "util.h"

#define MAX_RLIMITS 8

enum caps_mode { CAPS_ALL, CAPS_DEFAULT };

struct rlimit_entry {
    int resource;
    struct rlimit limit;
};

/* Per environment (CREATE): applied to every process of it. */
struct env_policy {
    enum caps_mode caps;
    enum seccomp_profile profile;
    struct rlimit_entry rlimits[MAX_RLIMITS];
    size_t n_rlimits;
    void *seccomp;      /* raw struct sock_filter[], malloc'ed; NULL: none */
    size_t seccomp_len; /* number of instructions */
};

#define MAX_SUPPLEMENTARY_GROUPS 256

/* Per process (SPAWN, run, enter). */
struct exec_policy {
    const struct env_policy *env;
    bool caps_given; /* else env->caps */
    enum caps_mode caps;
    uint64_t caps_removed; /* never kept, whatever caps says: caps_exposed_without() */
    long uid, gid; /* -1: keep (root of the env) */
    gid_t groups[MAX_SUPPLEMENTARY_GROUPS]; /* supplementary groups; none: setgroups([]) with gid */
    size_t n_groups;
    mode_t umask;
};

/* RLIMIT_CORE=0, caps all, no seccomp (unconfined). */
void env_policy_init(struct env_policy *p);
/* What a process outside the env's own mount / network namespace would gain from capabilities
 * (1 << CAP_*): without mount CAP_SYS_CHROOT (the chroot escape), without net CAP_NET_RAW and
 * CAP_NET_ADMIN (the host's network, its loopback traffic). */
uint64_t caps_exposed_without(bool in_mount_ns, bool in_net_ns);
void env_policy_free(struct env_policy *p);
/* "NAME<sep>SOFT<sep>HARD" (HARD optional: = SOFT); `unlimited` allowed. */
int env_policy_add_rlimit(struct env_policy *p, const char *text, char sep, struct failure *f);
/* -1 with *f (stage `rlimit`, EPERM, naming the limit, the value and the hard limit) when a hard limit
 * is above INHERITED_HARD(resource), the one commands start with: they could not set it. */
int env_policy_check_rlimits(const struct env_policy *p, rlim_t (*inherited_hard)(int resource),
                             struct failure *f);
int env_policy_load_seccomp(struct env_policy *p, const char *path, struct failure *f);
int parse_caps_mode(const char *text, enum caps_mode *out);
/* "N" into *out (0..2^32-2); -1 when not a number. */
int parse_id(const char *text, long *out);
int parse_umask(const char *text, mode_t *out);
/* "N,N,..." (at most MAX_SUPPLEMENTARY_GROUPS ids; empty: none) into p->groups; -1 when malformed. */
int parse_groups(const char *text, struct exec_policy *p);

void exec_policy_init(struct exec_policy *p, const struct env_policy *env);
/* A new anonymous session keyring for the calling process (KEYCTL_JOIN_SESSION_KEYRING):
 * nothing of the helper's (the host's) stays reachable; die()s with stage `keyring` unless the
 * kernel has no keyrings or a filter of the host already refuses keyctl (ENOSYS, EPERM). */
void join_new_session_keyring(void);
/* In the command's process, last thing before execve; die()s on failure. */
void apply_exec_policy(const struct exec_policy *p);
/* apply_exec_policy() in two parts, for commands forked by a zygote (zygote.c): in the zygote, as
 * the env's root, once, what every command inherits (bounding and capability sets, a session
 * keyring, no_new_privs, the filters); in each command, the rest (umask, rlimits, ids, a session
 * keyring of its own). die()s on failure. */
void apply_zygote_policy(const struct exec_policy *p);
void apply_command_ids(const struct exec_policy *p);

#endif
