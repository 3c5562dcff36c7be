/*
 * statedir.h - the serve state directory's lock, and removing what dead helpers left behind.
 */
#ifndef ISOLATED_STATEDIR_H
#define ISOLATED_STATEDIR_H

#include <stdbool.h>

#include "util.h"

#define STATE_LOCK_NAME "isolated-helper.lock"

/* Creates and flock()s DIR/isolated-helper.lock for the helper's life; returns its fd. */
int state_dir_lock(const char *state_dir, struct failure *f);
/* Removes every sibling of STATE_DIR (same parent) holding an unlocked isolated-helper.lock. */
void state_dir_sweep(const char *state_dir);
/* At a clean exit: the lock file, then the directory if it is empty. */
void state_dir_remove(const char *state_dir);

#define HELPERS_DIR_ROOT "/run/isolated/helpers"
/* HELPERS_DIR/<identity>.helper-lock: not `.lock`, which older helpers unlinked once they had
 * swept what they could reach of a dead helper's cgroups (a sweeper still reads those). */
#define HELPER_LOCK_SUFFIX ".helper-lock"
/* `<pid>-<16 hex random>`, made (and its lock file taken, held for the helper's life) at the
 * first call: the name of this helper in its env cgroups' names. */
const char *helper_identity(void);
/* For every dead helper (its lock file exists and nobody holds it), with its lock held: calls
 * SWEEP(identity, record: what its lock file holds, cgroup_bases_record()), and unlinks the lock
 * file when SWEEP returns true (all of that helper's cgroups are gone). */
void helper_identities_sweep(bool (*sweep)(const char *identity, const char *record));
/* At a clean exit: unlinks our lock file, unless one of our cgroups is left (cgroup_left_behind()). */
void helper_identity_release(void);

#endif
