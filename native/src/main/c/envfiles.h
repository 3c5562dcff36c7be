/*
 * envfiles.h - WRITE and READ: files, directories and symlinks made, written and read inside an
 * environment as its root.
 */
#ifndef ISOLATED_ENVFILES_H
#define ISOLATED_ENVFILES_H

#include <stdbool.h>
#include <sys/types.h>

#include "env.h"
#include "proto.h"
#include "util.h"

struct env_write {
    const char *path; /* absolute, inside the env */
    char type;        /* 'f' a regular file, 'd' a directory, 'l' a symlink */
    mode_t mode;      /* of what is made (a file: only a new one) */
    const char *link; /* a symlink's target */
    bool parents;     /* make missing parent directories (0755) first */
    long long size;   /* a file: the bytes its WRITE-DATA frames bring */
};

/* WRITE's fields (the strings are borrowed); -1 with stage `request` and EINVAL when one is bad. */
int parse_env_write(const struct record *rec, struct env_write *out, struct failure *f);
/* Makes W inside the ready env as its root (see envfiles.c); a file is opened for writing,
 * truncated, its fd in *FD (close-on-exec), else *FD is -1. *DIRECT: the file is on overlayfs,
 * which writes with the credentials of its mounter (the env's init), so we may write into it
 * ourselves; any other file's data goes through env_write_data(). -1 with *f (stage `write`; a
 * path that is not a regular file: errno 0, the hint says what it is, e.g. "a FIFO"). */
int env_write_open(const struct env *env, const struct env_write *w, int *fd, bool *direct, struct failure *f);
/* Writes DATA into FD (env_write_open()'s) from a child that is root inside the env, as the open
 * was made: a kernel write handler that checks the writer's capabilities (procfs: a negative
 * autogroup nice; a host filesystem's reserved blocks) sees root inside's, not ours. PATH: for
 * messages. -1 with *f (stage `write`, syscall `write` or `setns`). */
int env_write_data(const struct env *env, const char *path, int fd, const void *data, size_t len,
                   struct failure *f);

struct env_read {
    const char *path;  /* absolute, inside the env */
    mode_t type;       /* what to read (S_IFREG, S_IFDIR, S_IFLNK), refusing anything else; 0: only look */
    bool follow;       /* a symlink at the path itself is followed (inside the env) */
    long long limit;   /* a file: the most bytes sent (-1: its size when opened, 64 MiB if that is 0) */
    long long offset;  /* a file: where to start (-1: none given, 0 then; see send_file()) */
    bool entries;      /* a dir: each name with its st_mode and, for a symlink, its target */
};

/* READ's fields (the strings are borrowed); -1 with stage `request` and EINVAL when one is bad. */
int parse_env_read(const struct record *rec, struct env_read *out, struct failure *f);
/* Looks at R's path inside the ready env as its root (see envfiles.c) and sends what R asks for in
 * READ-DATA frames under ID: a file's bytes, a directory's names (each followed by a NUL; with
 * entries, each name, its st_mode in octal and a symlink's target, each followed by a NUL) or a
 * symlink's target; then adds the ACK's fields to ACK (type=, mode=, size=, more=true when a file
 * holds more than the limit, past the offset when one is given). -1 with *f (stage `read`; not R's type: errno 0, the hint says what
 * it is, e.g. "a FIFO"); READ-DATA may have been sent before. */
int env_read(const struct env *env, const struct env_read *r, struct writer *out, uint32_t id,
             struct record_builder *ack, struct failure *f);

#endif
