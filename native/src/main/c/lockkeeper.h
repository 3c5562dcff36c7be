/*
 * lockkeeper.h - a child of a serving root helper that holds the envs' id range locks for it
 * (see lockkeeper.c).
 */
#ifndef ISOLATED_LOCKKEEPER_H
#define ISOLATED_LOCKKEEPER_H

#include <stdbool.h>

/* Forks the keeper (serve, as root, before any env exists); false if it could not be started
 * (then the helper keeps its locks itself, as `run` does). */
bool lock_keeper_start(void);
/* Hands the locked fd of BASE's lock file to the keeper; true once sent (the caller closes its
 * copy), false without a keeper or when sending failed (the caller keeps holding it). */
bool lock_keeper_take(int lock_fd, unsigned base);
/* Tells the keeper to close BASE's lock (best effort: a dead keeper holds nothing). */
void lock_keeper_release(unsigned base);
/* At the helper's exit: the keeper drops every lock it still holds, exits and is reaped (not
 * left to whoever adopts orphans). */
void lock_keeper_stop(void);

#endif
