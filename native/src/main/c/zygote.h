/*
 * zygote.h - a process inside a running environment that forks its commands, so that a command
 * costs no fork of the helper, setns, chroot or seccomp load of its own (see zygote.c).
 */
#ifndef ISOLATED_ZYGOTE_H
#define ISOLATED_ZYGOTE_H

#include <stdbool.h>
#include <sys/types.h>

#include "env.h"
#include "spawn.h"
#include "util.h"

struct zygote {
    pid_t pid; /* our child; 0: none (never made, stopped, or reaped by the caller's walk) */
    int fd;    /* our end of its request socket; -1: none */
};

void zygote_init(struct zygote *z);
/* Whether the env's zygote can fork a command of SPEC: one that joins all the env's namespaces,
 * keeps the env's caps mode, is not pid1 or supervised, in an env with no seccomp filter of the
 * caller's (stacked on the zygote, it could refuse what the zygote does for each command) and no
 * RLIMIT_NPROC (which would count the zygote among root's processes). */
bool zygote_fits(const struct spawn_spec *spec);
/* What an intermediate that becomes its env's zygote keeps: a copy of the env with its cgroup.procs
 * fds open, /dev/null. */
struct zygote_kept {
    struct env env;
    int null_fd;
};

/* In the intermediate, before it joins anything (paths still resolve): dies with HELPER, stops
 * being dumpable, opens what it keeps; -1 when it cannot (it then stays a mere intermediate). */
int zygote_prepare(const struct env *env, pid_t helper, struct zygote_kept *kept);
/* In the intermediate, its command cloned and its status socket closed: the zygote from now on,
 * serving requests on SOCK until its EOF. */
NORETURN void zygote_become(struct zygote_kept *kept, int sock);
/* Hands it a command, with its stdio and STATUS_FD (the command's, as spawn_in_env()'s): 0 once
 * sent, -1 when the zygote is gone. */
int zygote_send(const struct zygote *z, const struct spawn_spec *spec, int status_fd);
/* SIGKILL it (unless reaped already: pid 0) and close our socket; zygote_stop() also reaps it. */
void zygote_kill(struct zygote *z);
void zygote_stop(struct zygote *z);

#endif
