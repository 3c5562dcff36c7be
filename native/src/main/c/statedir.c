/*
 * statedir.c - the serve state directory's lock, and removing what dead helpers left behind.
 *
 * - A serving helper holds an flock() on STATE_DIR/isolated-helper.lock while it lives; the
 *   kernel drops it when the helper dies, however it dies (the envs' inits share the open file
 *   until they die with it through PDEATHSIG). The lock is taken on a temporary name and then
 *   renamed into place, so a lock file that can be seen is always held by its starting helper.
 * - At start a helper removes every sibling directory of its own state dir (same parent) that
 *   holds such a lock file nobody holds: the state dir of a helper that was killed (SIGKILL)
 *   before it could clean up (mount points, chroot trees of envs without `mount`). Only
 *   directories owned by our euid; never across a mount point, never through a symlink.
 * - A helper's identity `<pid>-<16 hex random>` names its env cgroups (cgroup.c); it holds an
 *   flock() on HELPERS_DIR/<identity>.helper-lock (root: /run/isolated/helpers, else
 *   $XDG_RUNTIME_DIR/isolated-helpers; none without one) while it lives, taken on a `.new` name
 *   and renamed, like the state dir's; it holds, written before the rename, the bases where the
 *   helper makes env cgroups (cgroup_bases_record()). An identity is dead only when its lock file
 *   exists and nobody holds it: a helper of another pid namespace or container (no lock file
 *   here) is never judged dead, and a pid number reused in another pid namespace names another
 *   identity. A sweeper unlinks a dead lock file only once every env cgroup of that helper is
 *   gone (cgroup_sweep_dead()): the file is what proves them dead to the next one.
 */
#include "statedir.h"
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int state_dir_lock(const char *state_dir, struct failure *f)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/%s.new", state_dir, STATE_LOCK_NAME);
    snprintf(path, sizeof path, "%s/%s", state_dir, STATE_LOCK_NAME);
    int fd = open(tmp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(f, "serve", "open", tmp, "the state directory must exist and be writable");
    if (flock(fd, LOCK_EX | LOCK_NB) < 0 || rename(tmp, path) < 0) {
        fail(f, "serve", "flock", tmp, "another helper uses this state directory");
        close(fd);
        return -1;
    }
    return fd;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* DIR's lock file, opened and locked when it is ours and its helper is dead; else -1. */
static int take_dead_lock(const char *dir)
{
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, STATE_LOCK_NAME) >= (int)sizeof path)
        return -1;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return -1;
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void state_dir_sweep(const char *state_dir)
{
    char parent[PATH_MAX], dir[PATH_MAX];
    const char *slash = strrchr(state_dir, '/'), *own = slash ? slash + 1 : state_dir;
    int parent_len = !slash ? 1 : slash == state_dir ? 1 : (int)(slash - state_dir);
    snprintf(parent, sizeof parent, "%.*s", parent_len, slash ? state_dir : ".");
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, own) == 0)
            continue;
        /* Only a directory can be a dead helper's state dir: skip what readdir already says is not
         * one (the parent is usually /tmp, mostly files) without a path walk and lstat() each;
         * take_dead_lock() still checks what is left, and DT_UNKNOWN entries, with lstat(). */
        if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
            continue;
        if (snprintf(dir, sizeof dir, "%s/%s", parent, e->d_name) >= (int)sizeof dir)
            continue;
        int fd = take_dead_lock(dir);
        if (fd < 0)
            continue;
        fprintf(stderr, "isolated-helper: removing %s, left behind by a helper that died\n", dir);
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        close(fd);
    }
    if (d)
        closedir(d);
}

void state_dir_remove(const char *state_dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", state_dir, STATE_LOCK_NAME);
    unlink(path);
    rmdir(state_dir);
}

/* HELPERS_DIR into BUF (made when MAKE); false when there is none. */
static bool helpers_dir(char *buf, size_t size, bool make)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        snprintf(buf, size, "%s", HELPERS_DIR_ROOT);
    else if (!xdg || xdg[0] != '/' || snprintf(buf, size, "%s/isolated-helpers", xdg) >= (int)size)
        return false;
    if (make && make_dirs(buf, 0755) < 0) /* 0755: /run/isolated must stay searchable */
        return false;
    struct stat st;
    return lstat(buf, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid();
}

const char *helper_identity(void)
{
    static char identity[64];
    if (identity[0])
        return identity;
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        die("serve", "getrandom", "", NULL);
    snprintf(identity, sizeof identity, "%d-%02x%02x%02x%02x%02x%02x%02x%02x", (int)getpid(),
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    char dir[PATH_MAX], tmp[PATH_MAX + 96], path[PATH_MAX + 96];
    if (!helpers_dir(dir, sizeof dir, true))
        return identity; /* no lock: nobody ever judges this helper dead */
    snprintf(tmp, sizeof tmp, "%s/%s" HELPER_LOCK_SUFFIX ".new", dir, identity);
    snprintf(path, sizeof path, "%s/%s" HELPER_LOCK_SUFFIX, dir, identity);
    char record[CG_RECORD_MAX];
    cgroup_bases_record(record, sizeof record); /* before it can be seen: before any env cgroup */
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && (flock(fd, LOCK_EX | LOCK_NB) < 0 || write_all(fd, record, strlen(record)) < 0 ||
                    rename(tmp, path) < 0)) {
        unlink(tmp);
        close(fd); /* the fd stays open otherwise, for the helper's life */
    }
    return identity;
}

/* The lock file NAME in DIR, opened and locked when its helper is dead (not us); else -1. */
static int take_dead_identity(const char *dir, const char *name, const char *identity)
{
    char path[PATH_MAX + 96];
    struct stat st;
    if (strcmp(identity, helper_identity()) == 0 ||
        snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -1;
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &st) < 0 || st.st_uid != geteuid() || flock(fd, LOCK_EX | LOCK_NB) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The identity in NAME, a lock file's name (ours, or `<identity>.lock` of an older helper, which
 * records nothing and unlinks any dead one it sees: ours are named so that it never does). */
static bool lock_identity(const char *name, char *identity, size_t size)
{
    static const char *const suffixes[] = { HELPER_LOCK_SUFFIX, ".lock" };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && n - k < size && strcmp(name + n - k, suffixes[i]) == 0) {
            snprintf(identity, size, "%.*s", (int)(n - k), name);
            return true;
        }
    }
    return false;
}

void helper_identities_sweep(bool (*sweep)(const char *identity, const char *record))
{
    char dir[PATH_MAX], identity[64], path[PATH_MAX + 96], record[CG_RECORD_MAX];
    if (!helpers_dir(dir, sizeof dir, false))
        return;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!lock_identity(e->d_name, identity, sizeof identity))
            continue;
        int fd = take_dead_identity(dir, e->d_name, identity);
        if (fd < 0)
            continue;
        ssize_t got = pread(fd, record, sizeof record - 1, 0);
        record[got > 0 ? got : 0] = '\0';
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (sweep(identity, record)) /* else it stays: a later helper finishes */
            unlink(path);
        close(fd);
    }
    if (d)
        closedir(d);
}

void helper_identity_release(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 96];
    if (!cgroup_left_behind() && helpers_dir(dir, sizeof dir, false) &&
        snprintf(path, sizeof path, "%s/%s" HELPER_LOCK_SUFFIX, dir, helper_identity()) < (int)sizeof path)
        unlink(path);
}
