/*
 * binds.c - bind mounts and tmpfs mounts the caller asked for, and the read-only root.
 *
 * - Targets are resolved inside the new root, never through a symlink or `..` out of it:
 *   openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) (Linux 5.6); on ENOSYS an O_PATH |
 *   O_NOFOLLOW walk, one component at a time, that re-roots absolute symlinks (B13) and takes
 *   `..` back to the directory it came from, never through the kernel's `..`.
 *   ISOLATED_HELPER_NO_OPENAT2=1 forces the walk (for tests).
 * - Mounts go onto `/proc/self/fd/N` of the resolved target, so the path is not looked up
 *   again. Missing targets are created (in the overlay's upper layer).
 * - Every bind is MS_BIND|MS_REC, then MS_REMOUNT|MS_BIND|MS_NOSUID|MS_NODEV (and MS_RDONLY
 *   when read-only) with the source's flags (nosuid/nodev/noexec/atime are locked in a user
 *   namespace, B10) OR-ed in, then mount_setattr(AT_RECURSIVE) with the same for its submounts
 *   when the kernel has it (5.12): a device node in a bind opens nothing, a setuid file there
 *   gains nothing, read-only or not.
 * - As real root the source is a detached clone the helper made (tree_fd, see env.c): the init,
 *   already its range's root, may not search the host directories leading to it. It is attached
 *   with move_mount onto the target's fd instead of a bind by path.
 * - Only syscalls; failures carry stage `bind`, `tmpfs` or `readonly-root`.
 */
#include "binds.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SYMLINKS 40

static char *field(const char *start, const char *end)
{
    return xasprintf("%.*s", (int)(end ? end - start : (long)strlen(start)), start);
}

int parse_bind(const char *text, char sep, bool ro_default, struct extra_mount *out,
               struct failure *f)
{
    const char *a = strchr(text, sep), *b = a ? strchr(a + 1, sep) : NULL;
    memset(out, 0, sizeof *out);
    out->kind = 'b';
    out->ro = ro_default;
    errno = EINVAL;
    if (!a || a == text || a[1] == '\0' || a[1] == sep)
        return fail(f, "bind", "mount", text, "want SRC%cDST%cro|rw", sep, sep);
    if (b && strcmp(b + 1, "ro") != 0 && strcmp(b + 1, "rw") != 0)
        return fail(f, "bind", "mount", text, "the bind mode must be ro or rw");
    out->ro = b ? strcmp(b + 1, "ro") == 0 : ro_default;
    out->src = field(text, a);
    out->dst = field(a + 1, b);
    return 0;
}

int parse_tmpfs(const char *text, char sep, struct extra_mount *out, struct failure *f)
{
    const char *a = strchr(text, sep), *b = a ? strchr(a + 1, sep) : NULL;
    char *end = NULL;
    memset(out, 0, sizeof *out);
    out->kind = 't';
    out->mode = 01777;
    errno = EINVAL;
    if (a) { /* digits only: strtoull takes blanks, '+' and '-' (-1 as its largest value) */
        size_t n = strspn(a + 1, "0123456789");
        errno = 0;
        out->size = strtoull(a + 1, &end, 10);
        bool ok = n > 0 && end == a + 1 + n && (!*end || end == b) && errno == 0;
        errno = EINVAL;
        if (!ok)
            return fail(f, "tmpfs", "mount", text, "the tmpfs size is a number of bytes");
    }
    if (b) {
        long long mode;
        if (parse_integer(b + 1, 8, 0, 07777, &mode) < 0)
            return fail(f, "tmpfs", "mount", text, "the tmpfs mode is octal, e.g. 1777");
        out->mode = (mode_t)mode;
    }
    if (text[0] == '\0' || a == text)
        return fail(f, "tmpfs", "mount", text, "want DST%cSIZE_BYTES%cMODE_OCTAL", sep, sep);
    out->dst = field(text, a);
    return 0;
}

void extra_mount_free(struct extra_mount *m)
{
    free(m->src);
    free(m->dst);
    m->src = m->dst = NULL;
}

/* ---- resolving inside the root ---- */

/* Every path of PATH_MAX bytes fits: one component in two bytes at most. */
#define WALK_DEPTH (PATH_MAX / 2)

/* The directories a walk holds open: [0] the root, then each one entered below it. `..` closes the innermost
 * and goes back to the one before (never above the root), not through the kernel's `..`: a directory moved out
 * of the root meanwhile (an env may, with two binds of one host file system, one below the other) would lead
 * there, to its new parent. */
struct walk {
    int dirs[WALK_DEPTH];
    int depth;
};

static void walk_back_to(struct walk *w, int depth)
{
    while (w->depth > depth)
        close(w->dirs[--w->depth]);
}

/* Enters the next component; a symlink is spliced into `rest` instead (an absolute one from the root). */
static int step_component(struct walk *w, const char *name, char *rest, size_t rest_size, int *links)
{
    if (strcmp(name, "..") == 0) {
        if (w->depth > 1)
            close(w->dirs[--w->depth]);
        return 0;
    }
    int next = openat(w->dirs[w->depth - 1], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0)
        return -1;
    struct stat st;
    if (fstat(next, &st) == 0 && S_ISLNK(st.st_mode)) {
        char target[PATH_MAX], joined[PATH_MAX * 2];
        ssize_t n = readlinkat(next, "", target, sizeof target - 1);
        int saved = errno;
        close(next);
        if (n < 0 || ++*links > MAX_SYMLINKS) {
            errno = n < 0 ? saved : ELOOP;
            return -1;
        }
        target[n] = '\0';
        int len = snprintf(joined, sizeof joined, "%s/%s", target, rest);
        if (len < 0 || (size_t)len >= rest_size) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(rest, joined, (size_t)len + 1);
        if (target[0] == '/')
            walk_back_to(w, 1);
        return 0;
    }
    if (w->depth == WALK_DEPTH) {
        close(next);
        errno = ENAMETOOLONG;
        return -1;
    }
    w->dirs[w->depth++] = next;
    return 0;
}

static int walk_in_root(int root_fd, const char *path)
{
    char rest[PATH_MAX * 2], name[NAME_MAX + 1];
    struct walk w = { .dirs = { openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC) }, .depth = 1 };
    int links = 0;
    if (w.dirs[0] < 0)
        return -1;
    snprintf(rest, sizeof rest, "%s", path);
    for (;;) {
        char *p = rest;
        while (*p == '/')
            p++;
        if (!*p) {
            int fd = w.dirs[--w.depth];
            walk_back_to(&w, 0);
            return fd;
        }
        size_t len = strcspn(p, "/");
        if (len > NAME_MAX) {
            walk_back_to(&w, 0);
            errno = ENAMETOOLONG;
            return -1;
        }
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        memmove(rest, p + len, strlen(p + len) + 1);
        if (strcmp(name, ".") != 0 && step_component(&w, name, rest, sizeof rest, &links) < 0) {
            int saved = errno;
            walk_back_to(&w, 0);
            errno = saved;
            return -1;
        }
    }
}

static int have_openat2 = -1;

static bool openat2_wanted(void)
{
    if (have_openat2 < 0) {
        const char *off = getenv("ISOLATED_HELPER_NO_OPENAT2");
        have_openat2 = !(off && strcmp(off, "1") == 0);
    }
    return have_openat2;
}

static int resolve_in_root(int root_fd, const char *path)
{
    if (openat2_wanted()) {
        struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != ENOSYS)
            return fd;
        have_openat2 = 0;
    }
    return walk_in_root(root_fd, path);
}

int open_at_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
    if (openat2_wanted()) {
        struct open_how how = { .flags = (unsigned long long)(unsigned)flags,
                                .mode = (flags & O_CREAT) ? mode : 0,
                                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != ENOSYS)
            return fd;
        have_openat2 = 0;
    }
    char cur[PATH_MAX];
    if ((size_t)snprintf(cur, sizeof cur, "%s", path) >= sizeof cur) {
        errno = ENAMETOOLONG;
        return -1;
    }
    bool follow = !(flags & O_NOFOLLOW); /* the caller's: a symlink at the end is opened or ELOOP */
    for (int links = 0;;) {
        char parent[PATH_MAX], target[PATH_MAX];
        size_t n = strlen(cur);
        while (n > 1 && cur[n - 1] == '/')
            cur[--n] = '\0';
        char *slash = strrchr(cur, '/');
        const char *name = slash ? slash + 1 : cur;
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
            if (flags & O_PATH)
                return resolve_in_root(root_fd, cur); /* a directory, which the walk finds */
            errno = EISDIR; /* never a file, and FLAGS create or write one */
            return -1;
        }
        snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - cur) : 0, cur);
        int dir = resolve_in_root(root_fd, parent[0] ? parent : "/");
        if (dir < 0)
            return -1;
        int fd = openat(dir, name, flags | O_NOFOLLOW, mode);
        struct stat st;
        if (fd >= 0 && follow && (flags & O_PATH) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
            close(fd); /* O_PATH|O_NOFOLLOW opens the symlink itself: follow it as below */
            fd = -1;
            errno = ELOOP;
        } else if (fd < 0 && errno == ENOTDIR && follow && (flags & O_DIRECTORY) &&
                   fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
            errno = ELOOP; /* O_DIRECTORY|O_NOFOLLOW on a symlink: ENOTDIR; follow it as below */
        }
        if (fd >= 0 || errno != ELOOP || !follow) {
            int saved = errno;
            close(dir);
            errno = saved;
            return fd;
        }
        ssize_t len = readlinkat(dir, name, target, sizeof target - 1); /* a symlink: inside the root */
        int saved = errno;
        close(dir);
        if (len < 0 || ++links > MAX_SYMLINKS) {
            errno = len < 0 ? (saved == EINVAL ? ELOOP : saved) : ELOOP;
            return -1;
        }
        target[len] = '\0';
        int joined = target[0] == '/' ? snprintf(cur, sizeof cur, "%s", target)
                                      : snprintf(cur, sizeof cur, "%s/%s", parent, target);
        if (joined < 0 || (size_t)joined >= sizeof cur) {
            errno = ENAMETOOLONG;
            return -1;
        }
    }
}

static int create_in_root(int root_fd, const char *path, mode_t create)
{
    char parent[PATH_MAX], name[NAME_MAX + 1];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    const char *last = slash ? slash + 1 : parent;
    if (strlen(last) > NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(name, last, strlen(last) + 1);
    int dir = -1;
    if (slash) {
        *slash = '\0';
        if (!parent[0])
            snprintf(parent, sizeof parent, "/");
        dir = resolve_in_root(root_fd, parent);
        if (dir < 0 && errno == ENOENT && parent[0])
            dir = create_in_root(root_fd, parent, S_IFDIR);
    } else {
        dir = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (dir < 0)
        return -1;
    int rc = create == S_IFDIR ? mkdirat(dir, name, 0755)
                               : mknodat(dir, name, S_IFREG | 0644, 0);
    int saved = errno;
    close(dir);
    if (rc < 0 && saved != EEXIST) {
        errno = saved;
        return -1;
    }
    return resolve_in_root(root_fd, path);
}

int open_in_root(int root_fd, const char *path, mode_t create, const char *stage,
                 struct failure *f)
{
    char clean[PATH_MAX];
    size_t n = (size_t)snprintf(clean, sizeof clean, "%s", path);
    while (n > 1 && clean[n - 1] == '/')
        clean[--n] = '\0';
    int fd = resolve_in_root(root_fd, clean);
    if (fd < 0 && errno == ENOENT && create)
        fd = create_in_root(root_fd, clean, create);
    if (fd < 0)
        return fail(f, stage, "openat2", path,
                    "the target is resolved inside the environment's root and created when "
                    "missing; a file where a directory is wanted (or vice versa) fails");
    return fd;
}

/* ---- mounting ---- */

static unsigned long locked_flags(int fd)
{
    struct statvfs sv;
    unsigned long flags = 0;
    if (fstatvfs(fd, &sv) < 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        flags |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        flags |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        flags |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        flags |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        flags |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        flags |= MS_RELATIME;
    return flags;
}

/* nosuid, nodev (and read-only for `ro`) on the bind and, where the kernel can, its submounts. */
static int harden_bind(int root_fd, const struct extra_mount *m, struct failure *f)
{
    char target[64];
    int fd = open_in_root(root_fd, m->dst, 0, "bind", f); /* now the bind's own root */
    if (fd < 0)
        return -1;
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    unsigned long ro = m->ro ? MS_RDONLY : 0;
    int rc = mount(NULL, target, NULL,
                   MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | ro | locked_flags(fd), NULL);
    if (rc == 0) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                               (m->ro ? MOUNT_ATTR_RDONLY : 0) };
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                    sizeof attr) < 0 && errno != ENOSYS)
            rc = -1;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc < 0)
        return fail(f, "bind", "mount", m->dst, "could not make the bind of %s nosuid,nodev%s",
                    m->src, m->ro ? ",ro" : "");
    return 0;
}

int fail_bind_source(const struct extra_mount *m, const char *syscall, struct failure *f)
{
    if (errno == ENOENT || errno == ENOTDIR)
        return fail(f, "bind", syscall, m->src, "the bind source %s (for %s) does not exist on the host%s",
                    m->src, m->dst, mounted_later_note());
    if (errno == EACCES)
        return fail(f, "bind", syscall, m->src,
                    "the bind source %s (for %s) is there, but the user the tests run as may not reach it: a "
                    "directory on its path does not let that user search it (x permission); give it that "
                    "permission (chmod o+x), or bind a path that user can reach",
                    m->src, m->dst);
    return fail(f, "bind", syscall, m->src, NULL);
}

static int bind_one(int root_fd, const struct extra_mount *m, struct failure *f)
{
    struct stat st;
    char target[64];
    if ((m->tree_fd > 0 ? fstat(m->tree_fd, &st) : stat(m->src, &st)) < 0)
        return fail_bind_source(m, "stat", f);
    int fd = open_in_root(root_fd, m->dst, S_ISDIR(st.st_mode) ? S_IFDIR : S_IFREG, "bind", f);
    if (fd < 0)
        return -1;
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    int rc = m->tree_fd > 0 ? (int)syscall(SYS_move_mount, m->tree_fd, "", fd, "",
                                           MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
                            : mount(m->src, target, NULL, MS_BIND | MS_REC, NULL);
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc < 0)
        return fail(f, "bind", "mount", m->src, "could not bind %s onto %s", m->src, m->dst);
    return harden_bind(root_fd, m, f);
}

static int tmpfs_one(int root_fd, const struct extra_mount *m, struct failure *f)
{
    char target[64], opts[96];
    int fd = open_in_root(root_fd, m->dst, S_IFDIR, "tmpfs", f);
    if (fd < 0)
        return -1;
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    int n = snprintf(opts, sizeof opts, "mode=0%o", (unsigned)m->mode);
    if (m->size)
        snprintf(opts + n, sizeof opts - (size_t)n, ",size=%llu", m->size);
    int rc = mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, opts);
    int saved = errno;
    close(fd);
    errno = saved;
    if (rc < 0)
        return fail(f, "tmpfs", "mount", m->dst, NULL);
    return 0;
}

int mount_extras(const char *root, const struct extra_mount *mounts, size_t count,
                 struct failure *f)
{
    if (count == 0)
        return 0;
    int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        return fail(f, "bind", "open", root, NULL);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = mounts[i].kind == 'b' ? bind_one(root_fd, &mounts[i], f)
                                   : tmpfs_one(root_fd, &mounts[i], f);
    close(root_fd);
    return rc;
}

int remount_root_readonly(struct failure *f)
{
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    unsigned long flags = fd >= 0 ? locked_flags(fd) : 0;
    if (fd >= 0)
        close(fd);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL) < 0)
        return fail(f, "readonly-root", "mount", "/", NULL);
    return 0;
}
