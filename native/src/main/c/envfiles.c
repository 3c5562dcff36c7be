/*
 * envfiles.c - WRITE: a file, directory or symlink made or written inside an environment with
 * its root's authority (PROTOCOL.md; IsolatedEnvironment.writeString and copyIn).
 *
 * - A child in our memory and fd table (CLONE_VM|CLONE_VFORK|CLONE_FILES: we wait, suspended,
 *   until it exits) joins the env's user namespace, and only that, as 0 inside (a root helper:
 *   the env's range, take_root_ids(); rootless: our uid, which the env maps) without
 *   supplementary groups where the namespace lets it drop them. So it has root's capabilities
 *   over the env's ids (CAP_DAC_OVERRIDE writes another user's 0600 file) and none over the
 *   host's: a file whose owner the env does not map is written only as its mode lets others.
 *   It is not dumpable: nothing in the env may trace it (it shares our memory and fds).
 * - Every path resolves below the init's /proc/PID/root, which we open before the clone, with
 *   openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) or its walk (binds.c): no symlink or `..`,
 *   even one the env swaps in meanwhile, leads out of the env's root. No host path is used.
 * - A file is opened O_WRONLY|O_CREAT|O_NONBLOCK (a FIFO swapped in neither blocks nor is
 *   truncated), refused unless regular once open, truncated; its fd lands in our table for
 *   serve to write the WRITE-DATA into. An existing file keeps its owner and mode; what is made
 *   (missing parents 0755, the file, directory or symlink) belongs to root inside, with umask 0.
 */
#include "envfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binds.h"
#include "idrange.h"
#include "spawn.h"
#include "usermap.h"

struct write_args {
    const struct env *env;
    const struct env_write *w;
    int root_fd;
    bool root;
    int fd; /* the file, in our fd table */
    struct failure failure;
};

static const char *type_name(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFLNK: return "a symlink";
    default: return "of an unknown type";
    }
}

static const char *denied_hint(int err)
{
    if (err == EACCES || err == EPERM)
        return "root inside may not write there either: a file of a bind whose host owner the "
               "environment does not map is written only as its mode lets others";
    if (err == EROFS)
        return "it is on a read-only mount: the rootfs with readOnlyRootfs, or a read-only bind";
    return NULL;
}

/* FD (-1: none) is closed first: the child's fds are ours (CLONE_FILES). */
static NORETURN void child_fail(struct write_args *a, int fd, const char *syscall, const char *path)
{
    int err = errno;
    if (fd >= 0)
        close(fd);
    errno = err;
    const char *hint = denied_hint(errno);
    if (hint)
        fail(&a->failure, "write", syscall, path, "%s", hint);
    else
        fail(&a->failure, "write", syscall, path, NULL);
    _exit(1);
}

/* The parent's O_PATH fd of W's path and, in NAME, its last component. */
static int open_parent(struct write_args *a, char *name, size_t size)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", a->w->path);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/')
        parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    snprintf(name, size, "%s", slash ? slash + 1 : parent);
    if (slash)
        slash[slash == parent ? 1 : 0] = '\0';
    int dir = open_at_in_root(a->root_fd, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (dir < 0)
        child_fail(a, -1, "openat2", parent);
    return dir;
}

static void refuse_unless_regular(struct write_args *a, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        child_fail(a, fd, "fstat", a->w->path);
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = 0;
        fail(&a->failure, "write", "fstat", a->w->path, "%s", type_name(st.st_mode));
        _exit(1);
    }
}

static int write_child(void *arg)
{
    struct write_args *a = arg;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* as uts_child: not traceable from the env meanwhile */
    const char *what = "";
    if (env_join(a->env, NS_BIT(NS_USER), &what) < 0) {
        fail(&a->failure, "write", "setns", what, NULL);
        _exit(1);
    }
    if (a->root ? take_root_ids() < 0 : setgroups(0, NULL) < 0 && errno != EPERM) {
        fail(&a->failure, "write", "setresuid", "uid 0", "the environment's user namespace maps no root");
        _exit(1);
    }
    umask(0);
    const struct env_write *w = a->w;
    struct failure f;
    if (w->parents) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", w->path);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            int dir = open_in_root(a->root_fd, parent, S_IFDIR, "write", &f);
            if (dir < 0)
                child_fail(a, -1, f.syscall, parent);
            close(dir);
        }
    }
    char name[NAME_MAX + 1];
    if (w->type == 'd' || w->type == 'l') {
        int dir = open_parent(a, name, sizeof name);
        if (w->type == 'd' ? mkdirat(dir, name, w->mode) < 0 : symlinkat(w->link, dir, name) < 0)
            child_fail(a, dir, w->type == 'd' ? "mkdirat" : "symlinkat", w->path);
        close(dir);
        _exit(0);
    }
    /* What is there first, through O_PATH: a FIFO opened O_WRONLY|O_NONBLOCK without a reader
     * fails with ENXIO, which would not say what it is. */
    int fd = open_at_in_root(a->root_fd, w->path, O_PATH | O_CLOEXEC, 0);
    if (fd >= 0) {
        refuse_unless_regular(a, fd);
        close(fd);
    }
    fd = open_at_in_root(a->root_fd, w->path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, w->mode);
    if (fd < 0)
        child_fail(a, -1, "openat2", w->path);
    refuse_unless_regular(a, fd); /* swapped in meanwhile */
    if (ftruncate(fd, 0) < 0)
        child_fail(a, fd, "ftruncate", w->path);
    a->fd = fd;
    _exit(0);
}

int env_write_open(const struct env *env, const struct env_write *w, int *fd, struct failure *f)
{
    char root[64];
    snprintf(root, sizeof root, "/proc/%d/root", (int)env->pid);
    struct write_args args = { .env = env, .w = w, .root = real_root(), .fd = -1 };
    args.root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (args.root_fd < 0)
        return fail(f, "write", "open", root, NULL);
    int rc = run_in_our_memory(write_child, &args, CLONE_FILES, &args.failure, "write",
                               "the process writing in the environment died", f);
    close(args.root_fd);
    *fd = rc == 0 ? args.fd : -1;
    return rc;
}

int parse_env_write(const struct record *rec, struct env_write *out, struct failure *f)
{
    const char *path = record_get(rec, "path"), *type = record_get(rec, "type"), *mode = record_get(rec, "mode"),
               *link = record_get(rec, "link"), *parents = record_get(rec, "parents"), *size = record_get(rec, "size");
    long long m = 0;
    memset(out, 0, sizeof *out);
    errno = EINVAL;
    if (!path || path[0] != '/')
        return fail(f, "request", "write", path ? path : "", "path= is an absolute path inside the environment");
    out->path = path;
    out->type = !type || strcmp(type, "file") == 0 ? 'f'
              : strcmp(type, "dir") == 0           ? 'd'
              : strcmp(type, "symlink") == 0       ? 'l'
                                                   : 0;
    if (!out->type)
        return fail(f, "request", "write", path, "type= is file, dir or symlink");
    if (mode && parse_integer(mode, 8, 0, 07777, &m) < 0)
        return fail(f, "request", "write", path, "mode= is octal, 0..7777");
    out->mode = mode ? (mode_t)m : out->type == 'd' ? 0755 : 0644;
    if (out->type == 'l' && (!link || !*link))
        return fail(f, "request", "write", path, "a symlink needs link=, its target");
    out->link = link;
    if (parents && strcmp(parents, "true") != 0 && strcmp(parents, "false") != 0)
        return fail(f, "request", "write", path, "parents= is true or false");
    out->parents = parents && strcmp(parents, "true") == 0;
    if (size && (out->type != 'f' || parse_integer(size, 10, 0, LLONG_MAX, &out->size) < 0))
        return fail(f, "request", "write", path, "size= is the byte count of a file's WRITE-DATA");
    return 0;
}
