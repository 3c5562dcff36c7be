/*
 * idrange.c - a root helper's host id range per environment.
 *
 * - As real root (euid 0 in the initial user namespace) every env gets a user namespace whose ids 0..65535 are host ids
 *   BASE..BASE+65535 (uid and gid alike), a range of its own, so that root inside, even with
 *   every capability, is an unprivileged stranger to the host and to every other env (as
 *   `podman --userns=auto`, `systemd-nspawn --private-users=pick`).
 * - The pool: 16383 ranges of 65536 ids, 64K-aligned, from 2^30 (1073741824) up to below 2^31
 *   (devpts and setfsuid() mishandle ids above). 65536 ids keep 65534 (nobody) mapped.
 * - Taken: an flock(LOCK_EX) on ID_RANGE_DIR/<BASE>.lock (a root-only directory), held by the
 *   helper until the env is gone (every process reaped, its cgroup removed): it locks across
 *   helpers, so parallel JVMs never share a range, and the kernel drops it when a helper dies
 *   (the env's processes die with it). A serving helper hands the locked fd to its lock keeper
 *   (lockkeeper.c), which holds it until the env is gone: the helper's fd table does not grow
 *   with the envs open (each fork copies it, each child closes it). Bases overlapping an
 *   /etc/subuid or /etc/subgid range, or holding a uid or gid of /etc/passwd or /etc/group, are
 *   skipped (no NSS: a static binary). Each file is parsed once and again whenever its stat()
 *   changes (device, inode, size, mtime or ctime: edits by rename, as shadow-utils makes them,
 *   and in place): a CREATE costs a stat() per file, not a read.
 * - Each helper starts looking at a slot derived from its pid and then goes round-robin, so
 *   helpers rarely try the same locks and a freed range is not the next one handed out.
 */
#include "idrange.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockkeeper.h"

static unsigned next_slot;
static bool next_slot_set;

bool real_root(void)
{
    static int known = -1;
    char line[128];
    unsigned long inside = 1, outside = 1, count = 0;
    if (known >= 0)
        return known;
    FILE *file = fopen("/proc/self/uid_map", "re");
    if (file && fgets(line, sizeof line, file))
        (void)sscanf(line, "%lu %lu %lu", &inside, &outside, &count);
    if (file)
        fclose(file);
    known = geteuid() == 0 && inside == 0 && outside == 0 && count == 4294967295ul;
    return known;
}

void id_range_init(struct id_range *r)
{
    r->base = 0;
    r->lock_fd = -1;
    r->kept = false;
}

/* Whether [start, start+count) meets [base, base+ID_RANGE_SIZE). */
static bool overlaps(unsigned long start, unsigned long count, unsigned base)
{
    return start < (unsigned long)base + ID_RANGE_SIZE && start + count > base;
}

/* What a file of claimed ids says, as last read: `owner:start:count` lines (id_field 1, with a
 * count) or `name:x:id:...` (id_field 2, one id). A missing file claims nothing. */
struct claim {
    unsigned long start, count;
};

struct claim_file {
    const char *path;
    int id_field;
    bool read;      /* claims (and st) are those of the file as it is while st matches */
    bool missing;   /* it could not be opened when last read */
    struct stat st; /* its fstat() when read */
    struct claim *claims;
    size_t n, cap;
};

static struct claim_file claim_files[] = {
    { .path = "/etc/subuid", .id_field = 1 }, { .path = "/etc/subgid", .id_field = 1 },
    { .path = "/etc/passwd", .id_field = 2 }, { .path = "/etc/group", .id_field = 2 },
};

static bool same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void add_claim(struct claim_file *c, unsigned long start, unsigned long count)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->claims = xrealloc(c->claims, c->cap * sizeof *c->claims);
    }
    c->claims[c->n++] = (struct claim){ start, count };
}

/* (Re)reads C's file when its stat() differs from the one parsed (or it was never read). */
static void refresh_claims(struct claim_file *c)
{
    struct stat now;
    bool exists = stat(c->path, &now) == 0;
    if (c->read && (exists ? !c->missing && same_file_state(&now, &c->st) : c->missing))
        return;
    char line[1024];
    FILE *file = fopen(c->path, "re");
    c->n = 0;
    c->read = true;
    c->missing = !file;
    if (!file)
        return;
    if (fstat(fileno(file), &c->st) < 0) /* the state of what is read, not of the stat() above */
        c->read = false;                 /* parsed, but checked again next time */
    while (fgets(line, sizeof line, file)) {
        char *save = NULL, *field = strtok_r(line, ":", &save);
        for (int i = 0; field && i < c->id_field; i++)
            field = strtok_r(NULL, ":", &save);
        char *count = c->id_field == 1 ? strtok_r(NULL, ":\n", &save) : NULL;
        if (field && (c->id_field != 1 || count))
            add_claim(c, strtoul(field, NULL, 10), count ? strtoul(count, NULL, 10) : 1);
    }
    fclose(file);
}

static void refresh_all_claims(void)
{
    for (size_t i = 0; i < sizeof claim_files / sizeof claim_files[0]; i++)
        refresh_claims(&claim_files[i]);
}

/* Whether an entry of /etc/subuid, /etc/subgid, /etc/passwd or /etc/group (as refreshed by
 * refresh_all_claims()) claims ids of BASE's range. */
static bool claimed(unsigned base)
{
    for (size_t i = 0; i < sizeof claim_files / sizeof claim_files[0]; i++)
        for (size_t j = 0; j < claim_files[i].n; j++)
            if (overlaps(claim_files[i].claims[j].start, claim_files[i].claims[j].count, base))
                return true;
    return false;
}

/* ID_RANGE_DIR, made 0700 if absent; refused unless a root-owned directory. */
static int open_lock_dir(struct failure *f)
{
    struct stat st;
    int fd = open(ID_RANGE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) { /* the first env since boot (or since someone removed it) */
        if (make_dirs(ISOLATED_RUN_DIR, 0755) < 0 || (mkdir(ID_RANGE_DIR, 0700) < 0 && errno != EEXIST))
            return fail(f, "uid-map", "mkdir", ID_RANGE_DIR,
                        "the id range locks need /run writable by root");
        fd = open(ID_RANGE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0)
        return fail(f, "uid-map", "open", ID_RANGE_DIR, NULL);
    if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
        close(fd);
        errno = EPERM;
        return fail(f, "uid-map", "stat", ID_RANGE_DIR, "must be a directory owned by root, "
                    "writable by root only: remove it, the helper makes it again");
    }
    return fd;
}

/* The lock of BASE, taken: its fd, or -1 (someone holds it, or it cannot be opened). */
static int try_lock(int dir_fd, unsigned base)
{
    char name[32];
    snprintf(name, sizeof name, "%u.lock", base);
    int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int id_range_take(struct id_range *r, struct failure *f)
{
    id_range_init(r);
    int dir_fd = open_lock_dir(f);
    if (dir_fd < 0)
        return -1;
    refresh_all_claims();
    if (!next_slot_set) {
        next_slot = (unsigned)getpid() * 2654435761u % ID_POOL_RANGES;
        next_slot_set = true;
    }
    for (unsigned i = 0; i < ID_POOL_RANGES && r->base == 0; i++) {
        unsigned slot = (next_slot + i) % ID_POOL_RANGES;
        unsigned base = ID_POOL_START + slot * ID_RANGE_SIZE;
        if (claimed(base) || (r->lock_fd = try_lock(dir_fd, base)) < 0)
            continue;
        r->base = base;
        next_slot = slot + 1;
        if (lock_keeper_take(r->lock_fd, base)) {
            close(r->lock_fd);
            r->lock_fd = -1;
            r->kept = true;
        }
    }
    close(dir_fd);
    if (r->base)
        return 0;
    errno = EAGAIN;
    return fail(f, "uid-map", "flock", ID_RANGE_DIR, "every id range of the pool (%u from %u) is "
                "taken or claimed by /etc/subuid, /etc/subgid, /etc/passwd or /etc/group",
                ID_POOL_RANGES, ID_POOL_START);
}

void id_range_free(struct id_range *r)
{
    if (r->lock_fd >= 0)
        close(r->lock_fd);
    if (r->kept)
        lock_keeper_release(r->base);
    id_range_init(r);
}
