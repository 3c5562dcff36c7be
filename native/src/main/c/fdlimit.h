/*
 * fdlimit.h - the serving helper's limit of open files (RLIMIT_NOFILE), see fdlimit.c.
 */
#ifndef ISOLATED_FDLIMIT_H
#define ISOLATED_FDLIMIT_H

#include <sys/resource.h>

#include "util.h"

/* Descriptors a CREATE leaves free for the envs already open (their commands' pipes, FORWARD
 * connections, the UNAME/SET-HOSTNAME helpers). */
#define FD_RESERVE 64

/* At serve's start: the soft limit up to the hard one; as real root both up to fs.nr_open.
 * Remembers the limits it found for fd_limit_restore(). */
void fd_limit_raise(void);
/* In a command right before it execs: the limits the helper started with (a no-op unless
 * fd_limit_raise() changed them), so commands see the JVM's, not the helper's. */
void fd_limit_restore(void);
/* Before a CREATE: -1 with *f (stage `clone`, EMFILE, naming the limit and the fix) when the
 * helper's open fds are within FD_RESERVE of its soft limit. */
int fd_limit_check(struct failure *f);
/* The hard limit of RESOURCE that commands start with (fd_limit_restore()): the helper's own at start. */
rlim_t command_hard_limit(int resource);

#endif
