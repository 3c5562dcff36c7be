/*
 * mounts.h - the filesystem steps of an environment, each one syscall-level verb.
 */
#ifndef ISOLATED_MOUNTS_H
#define ISOLATED_MOUNTS_H

#include <stdbool.h>

#include "env.h"
#include "util.h"

int make_root_private(struct failure *f);
/* Fills SCRATCH/root with a writable view of rootfs (overlay, else a copy); *used says which. */
int prepare_writable_root(const char *rootfs, const char *scratch, enum rootfs_mode mode,
                          bool mount_tmpfs, bool in_userns, enum rootfs_mode *used,
                          struct failure *f);
int ensure_mount_point(const char *root, const char *name, const char *stage, struct failure *f);
int mount_dev(const char *root, struct failure *f);
int pivot_into(const char *root, struct failure *f);
int mount_proc(const char *root, bool own_pid_ns, struct failure *f);
int mount_tmp(const char *root, struct failure *f);

#endif
