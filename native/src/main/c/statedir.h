/*
 * statedir.h - the serve state directory's lock, and removing what dead helpers left behind.
 */
#ifndef ISOLATED_STATEDIR_H
#define ISOLATED_STATEDIR_H

#include "util.h"

#define STATE_LOCK_NAME "isolated-helper.lock"

/* Creates and flock()s DIR/isolated-helper.lock for the helper's life; returns its fd. */
int state_dir_lock(const char *state_dir, struct failure *f);
/* Removes every sibling of STATE_DIR (same parent) holding an unlocked isolated-helper.lock. */
void state_dir_sweep(const char *state_dir);
/* At a clean exit: the lock file, then the directory if it is empty. */
void state_dir_remove(const char *state_dir);

#endif
