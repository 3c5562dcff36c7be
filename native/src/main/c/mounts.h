/*
 * mounts.h - the filesystem steps of an environment, each one syscall-level verb.
 */
#ifndef ISOLATED_MOUNTS_H
#define ISOLATED_MOUNTS_H

#include <stdbool.h>

#include "env.h"
#include "util.h"

int make_root_private(struct failure *f);
/* As real root: a detached clone of ROOTFS idmapped to the user namespace USERNS_FD (read-only,
 * nosuid, nodev), an O_CLOEXEC fd for prepare_writable_root(); where the filesystem has no
 * idmapped mounts, a detached read-only tmpfs with a copy whose owners are shifted to BASE + id
 * (said once on stderr); -1 with *f. */
int open_idmapped_tree(const char *rootfs, int userns_fd, unsigned base, struct failure *f);
/* The layers of an env beyond the rootfs (CREATE's layer=, upper-dir=, upper-size=). */
struct layer_plan {
    const char *const *paths; /* read-only layers above the rootfs, topmost first */
    const int *fds;           /* as root: each one's open_idmapped_tree() (attached), else NULL */
    size_t n;
    const char *upper_dir;    /* NULL: upper and work on the scratch tmpfs */
    int upper_fd;             /* as root: open_upper_dir()'s clone of it (attached), else -1 */
    const char *tmpfs_size;   /* NULL: the kernel's default (half of RAM) */
};
/* Fills SCRATCH/root with a writable view of rootfs (overlay, else a copy); *used says which.
 * LOWER_FD >= 0 (open_idmapped_tree): attached at SCRATCH/lower and used instead of ROOTFS.
 * PLAN (may be NULL): extra lower layers and where the upper lives; with layers or an upper
 * dir only overlay will do (no copy fallback).
 * With layer_fd, *layer_fd is an O_PATH fd of the writable layer (see open_writable_layer). */
int prepare_writable_root(const char *rootfs, int lower_fd, const char *scratch,
                          enum rootfs_mode mode, bool mount_tmpfs, bool in_userns,
                          const struct layer_plan *plan, enum rootfs_mode *used, int *layer_fd,
                          struct failure *f);
/* As real root: the host directory DIR (empty, made by the caller) given to the range's root
 * (BASE), as a detached clone for the init to attach and keep its upper and work dirs in. */
int open_upper_dir(const char *dir, unsigned base, struct failure *f);
/* `copy-layer`: the writable layer FROM (a directory, e.g. /proc/PID/fd/N) copied into TO (made
 * here, 0700; must not exist) through descriptors, never following a symlink: modes, owners
 * (UNSHIFT > 0: host ids UNSHIFT+id become id, others 65534), times, whiteouts (0:0 character
 * devices), FIFOs and overlay opaque xattrs kept; sockets and other devices left out. */
int copy_layer(const char *from, const char *to, unsigned unshift, struct failure *f);
/* O_PATH|O_DIRECTORY fd of what the env writes into: SCRATCH/upper (overlay), or the whole
 * copied tree SCRATCH/root (copy). Outlives pivot_root: the JVM reads it as /proc/INIT/fd/N. */
int open_writable_layer(const char *scratch, enum rootfs_mode used, struct failure *f);
int ensure_mount_point(const char *root, const char *name, const char *stage, struct failure *f);
int mount_dev(const char *root, struct failure *f);
int pivot_into(const char *root, struct failure *f);
int mount_proc(const char *root, bool own_pid_ns, struct failure *f);
int mount_tmp(const char *root, struct failure *f);

#endif
