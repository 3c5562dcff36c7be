/*
 * idrange.h - a root helper's host id range per environment (see idrange.c).
 */
#ifndef ISOLATED_IDRANGE_H
#define ISOLATED_IDRANGE_H

#include <stdbool.h>

#include "util.h"

#define ID_RANGE_SIZE 65536u
#define ID_POOL_START 1073741824u /* 2^30 */
#define ID_POOL_RANGES 16383u     /* up to 2^31 - 65536: the last range ends below 2^31 */
#define ISOLATED_RUN_DIR "/run/isolated" /* 0755: ROOT_MNT_DIR must be searchable */
#define ID_RANGE_DIR "/run/isolated/userns"
/* A root helper's mount point for the inits' private tmpfs (serve.c): empty on the host. */
#define ROOT_MNT_DIR "/run/isolated/mnt"

struct id_range {
    unsigned base; /* host uid and gid of 0 inside; 0: none allocated */
    int lock_fd;   /* holds ID_RANGE_DIR/<base>.lock (flock LOCK_EX); -1: none, or kept */
    bool kept;     /* the lock keeper (lockkeeper.h) holds it for us */
};

/* euid 0 in the initial user namespace (uid_map `0 0 4294967295`): who gets ranges. Root of another
 * user namespace (a container's) has no host ids to hand out and no right to idmap: it maps as a
 * non-root caller's maps are written (usermap.c, by itself). */
bool real_root(void);
void id_range_init(struct id_range *r);
/* A free range: the first base (from a per-helper rotating start) no other holder locks and no
 * /etc/subuid, /etc/subgid, /etc/passwd or /etc/group entry claims; stage `uid-map` when the
 * pool is exhausted or the lock directory cannot be made. */
int id_range_take(struct id_range *r, struct failure *f);
/* Unlocks the range (closes the lock fd); the lock file stays, empty, for the next taker. */
void id_range_free(struct id_range *r);

#endif
