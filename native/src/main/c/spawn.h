/*
 * spawn.h - running a command inside an existing environment (setns + fork + exec).
 */
#ifndef ISOLATED_SPAWN_H
#define ISOLATED_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#include "env.h"
#include "harden.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct zygote;

struct spawn_spec {
    const struct env *env;
    unsigned join;     /* NS_BIT()s to join; only those the env has count */
    char *const *argv; /* NULL-terminated, at least one */
    char *const *envp; /* NULL-terminated, built by the caller */
    const char *cwd;   /* inside the env */
    bool pid1;         /* PID 1 of a fresh PID ns nested in the env, with its own /proc */
    bool supervised;   /* `enter`: a supervisor inside is our child and the command's parent
                          (supervise.h); not with pid1 */
    int stdio[3];      /* dup2()ed onto 0, 1, 2 */
    struct exec_policy policy; /* ids, umask, caps; .env points at env->policy */
    const struct zygote *zygote; /* the helper: fork it there (zygote.h); NULL: the other ways */
    struct zygote *become_zygote; /* the helper: the intermediate, if any, stays as the env's
                                     zygote (filled in when it did) */
    bool in_zygote;              /* the zygote's child: policy minus what the zygote applied */
};

struct spawned {
    pid_t pid;   /* on the host; a direct child of the helper, but supervised: the supervisor,
                    our child only without a PID namespace (see supervise.h) */
    pid_t nspid; /* as seen in the innermost PID namespace */
    int result_fd; /* supervised: the supervisor's result pipe (see supervise.h), else -1 */
};

/* Returns 0 once the command was exec'd; -1 with *f (stage `exec` when it could not be).
 * Supervised, the caller keeps a pipe's write end open until it exits (on purpose: its closing
 * tells the supervisor that we are gone); then wait_for_supervisor(). */
int spawn_in_env(const struct spawn_spec *spec, struct spawned *out, struct failure *f);
/* spawn_in_env() with spec->zygote: its answer when that zygote is gone and nothing was started
 * (the caller stops it and spawns again without). */
#define SPAWN_ZYGOTE_GONE (-2)

/* For zygote.c: chroot into the env's root (with its mount namespace joined) and chdir to
 * spec->cwd; chdir to a cwd inside it (stage `cwd`); what a command does between the setns and announcing itself; clone(fn, arg) with
 * FLAGS on the one spare stack (CLONE_VM|CLONE_VFORK: we are suspended until it execs or
 * exits), -1 with errno. */
void enter_env_root(const struct spawn_spec *spec);
void enter_cwd(const char *dir);
NORETURN void exec_command(const struct spawn_spec *spec, int status_fd, bool announce);
pid_t clone_on_spare_stack(int (*fn)(void *), void *arg, int flags);
/* FN(ARG) in a child in our memory (CLONE_VM|CLONE_VFORK|EXTRA_FLAGS on the spare stack: we wait,
 * suspended, until it exits; it must clear the dumpable flag first, which we restore after). It
 * exits 0, or 1 having filled *CHILD_FAILURE: then -1 with that in *f; -1 with stage STAGE and
 * the hint DIED when it died otherwise. */
int run_in_our_memory(int (*fn)(void *), void *arg, int extra_flags, const struct failure *child_failure,
                      const char *stage, const char *died, struct failure *f);

/* The nodename as seen in the env's UTS namespace. */
int read_env_hostname(const struct env *env, char *buf, size_t size, struct failure *f);
/* Sets the hostname in the env's UTS namespace (from a forked child that joins it). */
int set_env_hostname(const struct env *env, const char *name, struct failure *f);

/* NULL-terminated envp: the given K=V strings, or PATH and HOME=/ when there are none
 * (count == 0 with given == environ keeps an empty environment: see `enter --inherit-env`). */
char **build_envp(char *const *given, size_t count);

#endif
