/*
 * binds.h - the caller's extra mounts (binds, tmpfs) and a read-only root.
 */
#ifndef ISOLATED_BINDS_H
#define ISOLATED_BINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h"

struct extra_mount {
    char kind;       /* 'b' bind, 't' tmpfs */
    char *src;       /* bind: a host path */
    char *dst;       /* inside the environment */
    bool ro;         /* bind */
    unsigned long long size; /* tmpfs, bytes; 0: the kernel's default */
    mode_t mode;     /* tmpfs */
    int tree_fd;     /* bind, > 0: a detached clone of src made by a root helper (env.c), attached
                      * instead of looking src up; 0: none (fd 0 is stdin, never a tree) */
};

/* "SRC<sep>DST<sep>ro|rw" and "DST<sep>SIZE<sep>MODE" (the last fields optional on the
 * command line); the strings are copied. */
int parse_bind(const char *text, char sep, bool ro_default, struct extra_mount *out,
               struct failure *f);
int parse_tmpfs(const char *text, char sep, struct extra_mount *out, struct failure *f);
void extra_mount_free(struct extra_mount *m);

/* Opens PATH (O_PATH) inside the directory root_fd as if it were `/`: no symlink or `..`
 * leads out of it. Missing components are created as directories, the last one as
 * `create` (S_IFDIR, S_IFREG, or 0: none). */
int open_in_root(int root_fd, const char *path, mode_t create, const char *stage,
                 struct failure *f);
/* Opens PATH below ROOT_FD with FLAGS (MODE for O_CREAT) as openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) does: symlinks, the last component's too unless FLAGS has O_NOFOLLOW,
 * and `..` resolve inside ROOT_FD; without openat2 the parent by the walk, the last component with
 * O_NOFOLLOW, a symlink there read and resolved the same way (with the caller's O_NOFOLLOW:
 * O_PATH opens the symlink itself, other flags fail with ELOOP). -1 with errno. */
int open_at_in_root(int root_fd, const char *path, int flags, mode_t mode);
/* A bind source that SYSCALL (errno set) could not look up: stage bind, with a hint for what errno
 * says: missing, not reachable by the tests' user, or (no hint of its own) the default one. -1. */
int fail_bind_source(const struct extra_mount *m, const char *syscall, struct failure *f);
/* Before pivot_root, in the env's mount namespace: ROOT is the new root. */
int mount_extras(const char *root, const struct extra_mount *mounts, size_t count,
                 struct failure *f);
/* After pivot_root: `/` becomes read-only; the other mounts keep their flags. */
int remount_root_readonly(struct failure *f);

#endif
