/*
 * usermap.h - who the caller is inside a new user namespace (`user-map=root|self|subids`).
 */
#ifndef ISOLATED_USERMAP_H
#define ISOLATED_USERMAP_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

enum user_map { USER_MAP_ROOT, USER_MAP_SELF, USER_MAP_SUBIDS };

int parse_user_map(const char *text, enum user_map *out);

/* What will be written, decided before the child exists (so that a missing range or program
 * fails before anything is created). */
struct id_map_plan {
    enum user_map kind;
    unsigned uid, gid;                   /* the caller's (effective) ids */
    unsigned long sub_uid, sub_uid_count; /* subids: the subordinate ranges */
    unsigned long sub_gid, sub_gid_count;
    bool external;                       /* subids as non-root: newuidmap/newgidmap write */
    unsigned range_base;                 /* root: 0..65535 inside are this.. on the host */
    char owner[256];                     /* external: the owner looked up (user name or uid) */
    char newuidmap[PATH_MAX], newgidmap[PATH_MAX];
};

/* Fills *plan for the caller; subids as non-root needs /etc/subuid, /etc/subgid ranges and the
 * setuid programs, else -1 with stage `uid-map` naming what is missing and the fix. */
int plan_id_maps(enum user_map kind, struct id_map_plan *plan, struct failure *f);
/* The subids plan that newuidmap/newgidmap write for the caller, root included (the probe tries
 * it): ranges of /etc/subuid and /etc/subgid by user name or uid, as shadow-utils matches them,
 * and both programs; -1 with stage `uid-map` naming what is missing and the fix. */
int plan_external_subids(struct id_map_plan *plan, struct failure *f);
/* The first executable NAME in $PATH, then /usr/bin:/bin:/usr/sbin:/sbin; false if none. */
bool find_program(const char *name, char *out, size_t size);
/* As real root, whatever KIND: 0..65535 inside are BASE..BASE+65535 on the host (idrange.c). */
void plan_range_maps(unsigned base, struct id_map_plan *plan);
/* In a user namespace the caller just made or joined: uid and gid 0 inside and no supplementary
 * groups (the JVM's survive CLONE_NEWUSER and setns, still effective on host files; where
 * setgroups is denied - one id each - there are none to drop). -1 with errno. */
int take_root_ids(void);
/* Writes the maps of the child PID (still waiting for them). */
int write_id_maps(pid_t pid, const struct id_map_plan *plan, struct failure *f);
/* The same maps for a child PID whose user namespace is nested in a rootless network's (see
 * usermap.c); called from inside that network's user namespace. */
int write_nested_id_maps(pid_t pid, const struct id_map_plan *plan, struct failure *f);

#endif
