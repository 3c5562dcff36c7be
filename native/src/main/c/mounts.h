/*
 * mounts.h - the filesystem steps of an environment, each one syscall-level verb.
 */
#ifndef ISOLATED_MOUNTS_H
#define ISOLATED_MOUNTS_H

#include <stdbool.h>

#include "env.h"
#include "util.h"

int make_root_private(struct failure *f);
/* Fills SCRATCH/root with a writable view of rootfs (overlay, else a copy); *used says which.
 * With layer_fd, *layer_fd is an O_PATH fd of the writable layer (see open_writable_layer). */
int prepare_writable_root(const char *rootfs, const char *scratch, enum rootfs_mode mode,
                          bool mount_tmpfs, bool in_userns, enum rootfs_mode *used,
                          int *layer_fd, struct failure *f);
/* O_PATH|O_DIRECTORY fd of what the env writes into: SCRATCH/upper (overlay), or the whole
 * copied tree SCRATCH/root (copy). Outlives pivot_root: the JVM reads it as /proc/INIT/fd/N. */
int open_writable_layer(const char *scratch, enum rootfs_mode used, struct failure *f);
int ensure_mount_point(const char *root, const char *name, const char *stage, struct failure *f);
int mount_dev(const char *root, struct failure *f);
int pivot_into(const char *root, struct failure *f);
int mount_proc(const char *root, bool own_pid_ns, struct failure *f);
int mount_tmp(const char *root, struct failure *f);

#endif
