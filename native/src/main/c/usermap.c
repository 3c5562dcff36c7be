/*
 * usermap.c - the uid/gid maps of a new user namespace (`user-map=root|self|subids`).
 *
 * - As real root every mode is the same: 0..65535 inside are the env's own host range
 *   BASE..BASE+65535 (idrange.c), written by the helper itself (`0 BASE 65536`); setgroups stays
 *   allowed, so the init and every command drop the JVM's groups (take_root_ids()). Root inside
 *   is thus never root outside; `self` as root would otherwise map host root.
 * - Without a range (a non-root caller; as root only the probe's throwaway children, where
 *   root and self map 0 to 0 and subids 0..65535 as they are):
 *   - root (default): the caller's uid and gid are 0 inside, one id each.
 *   - self: the caller's uid and gid are the same numbers inside, one id each.
 *   - subids: the caller is 0 inside and the caller's ranges of /etc/subuid and /etc/subgid
 *     (owner = user name or uid) are 1, 2, ... inside. Only the setuid newuidmap/newgidmap
 *     (package uidmap) may write such maps for a non-root caller; the helper runs them while
 *     the child waits on its sync pipe (like `unshare --map-auto`, `bwrap --userns-block-fd`).
 * - An unprivileged writer may map only its own ids, and only after denying setgroups().
 * - Everything that can be missing (ranges, programs) is checked before the child exists:
 *   stage `uid-map`, naming the file or program and the fix. The probe's `subids` step plans
 *   and writes with the same functions (plan_external_subids, write_id_maps).
 * - Nested (an env of a rootless private network, see net.c): the env's user namespace is a
 *   child of the network's, where the caller is 0 and (subids) its ranges are 1..N. A process
 *   in there, root over it, writes the env's maps relative to it: root `0 0 1`, self
 *   `UID 0 1`, subids `0 0 1` + `1 1 N`; the host sees the same ids as without the nesting.
 */
#include "usermap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUBIDS_ROOT_COUNT 65536ul
#define MAX_INSIDE_COUNT 4294967294ul /* ids 1..count inside must stay below 2^32 - 1 */

static const char SUBUID[] = "/etc/subuid", SUBGID[] = "/etc/subgid";
static const char UIDMAP_FIX[] = "apt-get install uidmap";

int parse_user_map(const char *text, enum user_map *out)
{
    static const char *const names[] = { "root", "self", "subids" };
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (enum user_map)i;
            return 0;
        }
    }
    return -1;
}

/* The first executable NAME in $PATH, then the usual directories (PATH may be the JVM's). */
bool find_program(const char *name, char *out, size_t size)
{
    const char *env = getenv("PATH");
    char *dirs = xasprintf("%s:/usr/bin:/bin:/usr/sbin:/sbin", env && *env ? env : "");
    char *save = NULL;
    bool found = false;
    for (char *dir = strtok_r(dirs, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save))
        found = dir[0] == '/' && join_path(out, size, dir, name) == 0 && access(out, X_OK) == 0;
    free(dirs);
    return found;
}

/* The user name of UID from /etc/passwd ("" when absent); no NSS in a static binary. */
static void user_name(unsigned uid, char *out, size_t size)
{
    char line[1024];
    out[0] = '\0';
    FILE *file = fopen("/etc/passwd", "re");
    if (!file)
        return;
    while (fgets(line, sizeof line, file)) {
        char *name = strtok(line, ":"), *pass = strtok(NULL, ":"), *id = strtok(NULL, ":");
        if (name && pass && id && strtoul(id, NULL, 10) == uid) {
            snprintf(out, size, "%s", name);
            break;
        }
    }
    fclose(file);
}

/* The first `owner:start:count` line of PATH whose owner is NAME or UID; 0 when found. */
static int find_range(const char *path, const char *name, unsigned uid, unsigned long *start,
                      unsigned long *count)
{
    char line[512], uid_text[16];
    snprintf(uid_text, sizeof uid_text, "%u", uid);
    FILE *file = fopen(path, "re");
    if (!file)
        return -1;
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, file)) {
        char *owner = strtok(line, ":"), *first = strtok(NULL, ":"), *n = strtok(NULL, ":\n");
        if (!owner || !first || !n || (strcmp(owner, name) != 0 && strcmp(owner, uid_text) != 0))
            continue;
        *start = strtoul(first, NULL, 10);
        *count = strtoul(n, NULL, 10);
        rc = *count > 0 ? 0 : -1;
    }
    fclose(file);
    if (rc == 0 && *count > MAX_INSIDE_COUNT)
        *count = MAX_INSIDE_COUNT;
    return rc;
}

static int missing_range(const char *path, const char *owner, bool root, bool no_programs,
                         struct failure *f)
{
    errno = ENOENT;
    return fail(f, "uid-map", "open", path,
                "user-map=subids: no range for %s in %s: add `%s:100000:65536` to %s and %s%s%s%s",
                owner, path, owner, SUBUID, SUBGID, no_programs ? "; " : "",
                no_programs ? UIDMAP_FIX : "",
                root ? " (root needs none: as root every user-map maps the env's own range)" : "");
}

int plan_external_subids(struct id_map_plan *plan, struct failure *f)
{
    char name[256];
    memset(plan, 0, sizeof *plan);
    plan->kind = USER_MAP_SUBIDS;
    plan->uid = (unsigned)geteuid();
    plan->gid = (unsigned)getegid();
    user_name(plan->uid, name, sizeof name);
    if (name[0])
        snprintf(plan->owner, sizeof plan->owner, "%s", name);
    else
        snprintf(plan->owner, sizeof plan->owner, "%u", plan->uid); /* a uid is an owner too */
    bool programs = find_program("newuidmap", plan->newuidmap, sizeof plan->newuidmap) &&
                    find_program("newgidmap", plan->newgidmap, sizeof plan->newgidmap);
    bool root = plan->uid == 0;
    if (find_range(SUBUID, name, plan->uid, &plan->sub_uid, &plan->sub_uid_count) < 0)
        return missing_range(SUBUID, plan->owner, root, !programs, f);
    if (find_range(SUBGID, name, plan->uid, &plan->sub_gid, &plan->sub_gid_count) < 0)
        return missing_range(SUBGID, plan->owner, root, !programs, f);
    errno = ENOENT;
    if (!programs)
        return fail(f, "uid-map", "execve", "newuidmap",
                    "user-map=subids needs the setuid newuidmap and newgidmap: %s", UIDMAP_FIX);
    plan->external = true;
    return 0;
}

/* Every field before the strings, which only external maps fill and read: zeroing their PATH_MAX
 * bytes on every env's start would write pages for nothing (see JOINED_SIZE). */
static void clear_plan(struct id_map_plan *plan)
{
    memset(plan, 0, offsetof(struct id_map_plan, owner));
}

int plan_id_maps(enum user_map kind, struct id_map_plan *plan, struct failure *f)
{
    if (kind == USER_MAP_SUBIDS && geteuid() != 0)
        return plan_external_subids(plan, f);
    clear_plan(plan);
    plan->kind = kind;
    plan->uid = (unsigned)geteuid();
    plan->gid = (unsigned)getegid();
    if (kind != USER_MAP_SUBIDS)
        return 0;
    plan->sub_uid = plan->sub_gid = 1; /* root: 0 and 1.. are the host's own ids */
    plan->sub_uid_count = plan->sub_gid_count = SUBIDS_ROOT_COUNT - 1;
    return 0;
}

void plan_range_maps(unsigned base, struct id_map_plan *plan)
{
    clear_plan(plan);
    plan->kind = USER_MAP_ROOT;
    plan->range_base = base;
}

int take_root_ids(void)
{
    if (setgroups(0, NULL) < 0 && errno != EPERM)
        return -1;
    return setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 ? -1 : 0;
}

static int write_map_file(pid_t pid, const char *file, const char *map, struct failure *f)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    if (write_file(path, map) == 0)
        return 0;
    if (errno == EROFS)
        return fail(f, "uid-map", "write", path, "/proc is read-only here (a container?): the maps "
                    "of a new user namespace cannot be written; mount /proc read-write");
    return fail(f, "uid-map", "write", path, NULL);
}

/* root, self, and subids as root: the helper writes the maps itself. */
static int write_maps_directly(pid_t pid, const struct id_map_plan *plan, struct failure *f)
{
    char uid_map[64], gid_map[64];
    bool self = plan->kind == USER_MAP_SELF;
    if (plan->uid != 0 && write_map_file(pid, "setgroups", "deny", f) < 0 && f->err != ENOENT)
        return -1;
    if (plan->range_base) {
        snprintf(uid_map, sizeof uid_map, "0 %u %u\n", plan->range_base, 65536u);
        snprintf(gid_map, sizeof gid_map, "0 %u %u\n", plan->range_base, 65536u);
    } else if (plan->kind == USER_MAP_SUBIDS) { /* root without a range: the probe */
        snprintf(uid_map, sizeof uid_map, "0 0 %lu\n", plan->sub_uid_count + 1);
        snprintf(gid_map, sizeof gid_map, "0 0 %lu\n", plan->sub_gid_count + 1);
    } else {
        snprintf(uid_map, sizeof uid_map, "%u %u 1\n", self ? plan->uid : 0, plan->uid);
        snprintf(gid_map, sizeof gid_map, "%u %u 1\n", self ? plan->gid : 0, plan->gid);
    }
    if (write_map_file(pid, "uid_map", uid_map, f) < 0 ||
        write_map_file(pid, "gid_map", gid_map, f) < 0)
        return -1;
    return 0;
}

/* The child of run_map_program(): stdout to /dev/null, stderr to the pipe. */
static NORETURN void exec_map_program(char *const argv[], int err_fd)
{
    char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
    int null_fd = open("/dev/null", O_RDWR);
    reset_signal_state();
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    close_fds_above(3, -1);
    execve(argv[0], argv, envp);
    _exit(127);
}

/* `newuidmap PID 0 ID 1 1 START COUNT`; its stderr becomes the hint when it fails. */
static int run_map_program(const char *name, const char *program, pid_t pid, unsigned id,
                           unsigned long start, unsigned long count, struct failure *f)
{
    char pid_text[16], id_text[16], start_text[24], count_text[24], message[200] = "";
    snprintf(pid_text, sizeof pid_text, "%d", pid);
    snprintf(id_text, sizeof id_text, "%u", id);
    snprintf(start_text, sizeof start_text, "%lu", start);
    snprintf(count_text, sizeof count_text, "%lu", count);
    char *argv[] = { (char *)program, pid_text, "0", id_text, "1", "1", start_text, count_text,
                     NULL };
    int err[2], status = 0;
    if (pipe2(err, O_CLOEXEC) < 0)
        return fail(f, "uid-map", "pipe2", program, NULL);
    pid_t child = fork();
    if (child == 0)
        exec_map_program(argv, err[1]);
    close(err[1]);
    ssize_t n = child < 0 ? 0 : read_all(err[0], message, sizeof message - 1);
    close(err[0]);
    if (child < 0)
        return fail(f, "uid-map", "fork", program, NULL);
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    message[n > 0 ? n : 0] = '\0';
    message[strcspn(message, "\n")] = '\0';
    errno = EPERM;
    return fail(f, "uid-map", name, program, "it failed (status 0x%x): %s (check %s and %s)",
                status, message[0] ? message : "no message", SUBUID, SUBGID);
}

int write_nested_id_maps(pid_t pid, const struct id_map_plan *plan, struct failure *f)
{
    char uid_map[64], gid_map[64];
    if (plan->kind != USER_MAP_SUBIDS && write_map_file(pid, "setgroups", "deny", f) < 0 &&
        f->err != ENOENT)
        return -1;
    if (plan->kind == USER_MAP_SUBIDS) {
        /* two lines, as the parent's: one extent must not span two of the parent's */
        snprintf(uid_map, sizeof uid_map, "0 0 1\n1 1 %lu\n", plan->sub_uid_count);
        snprintf(gid_map, sizeof gid_map, "0 0 1\n1 1 %lu\n", plan->sub_gid_count);
    } else {
        bool self = plan->kind == USER_MAP_SELF;
        snprintf(uid_map, sizeof uid_map, "%u 0 1\n", self ? plan->uid : 0);
        snprintf(gid_map, sizeof gid_map, "%u 0 1\n", self ? plan->gid : 0);
    }
    if (write_map_file(pid, "uid_map", uid_map, f) < 0 ||
        write_map_file(pid, "gid_map", gid_map, f) < 0)
        return -1;
    return 0;
}

int write_id_maps(pid_t pid, const struct id_map_plan *plan, struct failure *f)
{
    if (!plan->external)
        return write_maps_directly(pid, plan, f);
    if (run_map_program("newuidmap", plan->newuidmap, pid, plan->uid, plan->sub_uid,
                        plan->sub_uid_count, f) < 0)
        return -1;
    return run_map_program("newgidmap", plan->newgidmap, pid, plan->gid, plan->sub_gid,
                           plan->sub_gid_count, f);
}
