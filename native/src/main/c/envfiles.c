/*
 * envfiles.c - WRITE and READ: a file, directory or symlink made, written or read inside an
 * environment with its root's authority (PROTOCOL.md; IsolatedEnvironment.writeString, copyIn,
 * and, for a JVM that is not root, readString, exists, awaitFile and copyOut).
 *
 * - A child in our memory and fd table (CLONE_VM|CLONE_VFORK|CLONE_FILES: we wait, suspended,
 *   until it exits) joins the env's user namespace, and only that, as 0 inside (a root helper:
 *   the env's range, take_root_ids(); rootless: our uid, which the env maps) without
 *   supplementary groups where the namespace lets it drop them. So it has root's capabilities
 *   over the env's ids (CAP_DAC_OVERRIDE writes or reads another user's 0600 file) and none over
 *   the host's: a file whose owner the env does not map is used only as its mode lets others.
 *   It is not dumpable: nothing in the env may trace it (it shares our memory and fds).
 * - Every path resolves below the init's /proc/PID/root, which we open before the clone, with
 *   openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) or its walk (binds.c): no symlink or `..`,
 *   even one the env swaps in meanwhile, leads out of the env's root. No host path is used.
 * - WRITE: a file is opened O_WRONLY|O_CREAT|O_NONBLOCK (a FIFO swapped in neither blocks nor is
 *   truncated), refused unless regular once open, truncated; its fd lands in our table for
 *   serve to write the WRITE-DATA into: itself on overlayfs (which writes with its mounter's
 *   credentials), else through a child as root inside (env_write_data(): some write handlers,
 *   e.g. /proc's autogroup, check the writer's capabilities, and ours are the host's). An
 *   existing file keeps its owner and mode; what is made
 *   (missing parents 0755, the file, directory or symlink) belongs to root inside, with umask 0.
 * - READ: the path is looked at through O_PATH (a FIFO or device is never opened), then a file
 *   opened O_RDONLY|O_NONBLOCK and checked regular again, a directory opened through that O_PATH
 *   fd; we read it once the child is gone (an open fd needs no permission) and send READ-DATA
 *   frames of at most READ_CHUNK bytes as the JVM takes them (blocking writes: bounded memory);
 *   with offset= only a chunk of a file, from there on (the JVM's rootless copyOut: one READ
 *   per chunk, so that the requests of other envs are served in between).
 *   A directory's entries (entries=true) are the child's to look at (fstatat needs search
 *   permission, which we may lack): it writes them to a memfd of ours, which we then send.
 */
#include "envfiles.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "binds.h"
#include "idrange.h"
#include "spawn.h"
#include "usermap.h"

#define READ_CHUNK (64 * 1024)
#define READ_DEFAULT_LIMIT (64LL << 20) /* a file whose size says 0 (/proc), as TreeCopy.READ_LIMIT */

/* What a WRITE's or READ's child is given, and what it leaves us. */
struct files_args {
    const struct env *env;
    const char *stage; /* "write" or "read" */
    const struct env_write *w;
    const struct env_read *r;
    int root_fd;
    bool root;
    int fd;          /* the file (or directory), in our fd table; READ with entries: the memfd */
    bool direct;     /* WRITE: on overlayfs, which writes with its mounter's (the env's) credentials */
    const void *data; /* WRITE-DATA written by a child: these bytes into fd */
    size_t len;
    int entries_fd;  /* READ with entries: the memfd, -1 without */
    struct stat st;  /* READ: what is at the path */
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
    case S_IFREG: return "a regular file";
    default: return "of an unknown type";
    }
}

static const char *denied_hint(const char *stage, int err)
{
    if ((err == EACCES || err == EPERM) && strcmp(stage, "read") == 0)
        return "root inside may not read there either: a file of a bind whose host owner the "
               "environment does not map is read only as its mode lets others";
    if (err == EACCES || err == EPERM)
        return "root inside may not write there either: a file of a bind whose host owner the "
               "environment does not map is written only as its mode lets others";
    if (err == EROFS)
        return "it is on a read-only mount: the rootfs with readOnlyRootfs, or a read-only bind";
    return NULL;
}

/* FD (-1: none) is closed first: the child's fds are ours (CLONE_FILES). */
static NORETURN void child_fail(struct files_args *a, int fd, const char *syscall, const char *path)
{
    int err = errno;
    if (fd >= 0)
        close(fd);
    errno = err;
    const char *hint = denied_hint(a->stage, errno);
    if (hint)
        fail(&a->failure, a->stage, syscall, path, "%s", hint);
    else
        fail(&a->failure, a->stage, syscall, path, NULL);
    _exit(1);
}

/* The parent's O_PATH fd of W's path and, in NAME, its last component. */
static int open_parent(struct files_args *a, char *name, size_t size)
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

/* Into a->st; anything but TYPE (S_IFREG, S_IFDIR, S_IFLNK; 0: anything) fails with errno 0 and
 * the hint saying what it is. */
static void refuse_unless(struct files_args *a, int fd, const char *path, mode_t type)
{
    if (fstat(fd, &a->st) < 0)
        child_fail(a, fd, "fstat", path);
    if (type && (a->st.st_mode & S_IFMT) != type) {
        close(fd);
        errno = 0;
        fail(&a->failure, a->stage, "fstat", path, "%s", type_name(a->st.st_mode));
        _exit(1);
    }
}

static void refuse_unless_regular(struct files_args *a, int fd)
{
    refuse_unless(a, fd, a->w->path, S_IFREG);
}

/* The child's first steps: root inside the env's user namespace, nothing more (see the top). */
static void become_env_root(struct files_args *a)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* as uts_child: not traceable from the env meanwhile */
    const char *what = "";
    if (env_join(a->env, NS_BIT(NS_USER), &what) < 0) {
        fail(&a->failure, a->stage, "setns", what, NULL);
        _exit(1);
    }
    if (a->root ? take_root_ids() < 0 : setgroups(0, NULL) < 0 && errno != EPERM) {
        fail(&a->failure, a->stage, "setresuid", "uid 0", "the environment's user namespace maps no root");
        _exit(1);
    }
}

static int write_child(void *arg)
{
    struct files_args *a = arg;
    become_env_root(a);
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
    struct statfs sf;
    a->direct = fstatfs(fd, &sf) == 0 && sf.f_type == OVERLAYFS_SUPER_MAGIC;
    a->fd = fd;
    _exit(0);
}

/* FN in a child as root inside A's env, below the init's root (A's env and stage set). */
static int run_files_child(int (*fn)(void *), struct files_args *a, const char *died, struct failure *f)
{
    char root[64];
    snprintf(root, sizeof root, "/proc/%d/root", (int)a->env->pid);
    a->root = real_root();
    a->fd = -1;
    a->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (a->root_fd < 0)
        return fail(f, a->stage, "open", root, NULL);
    int rc = run_in_our_memory(fn, a, CLONE_FILES, &a->failure, a->stage, died, f);
    close(a->root_fd);
    return rc;
}

int env_write_open(const struct env *env, const struct env_write *w, int *fd, bool *direct, struct failure *f)
{
    struct files_args args = { .env = env, .stage = "write", .w = w };
    int rc = run_files_child(write_child, &args, "the process writing in the environment died", f);
    *fd = rc == 0 ? args.fd : -1;
    *direct = rc == 0 && args.direct;
    return rc;
}

static int write_data_child(void *arg)
{
    struct files_args *a = arg;
    become_env_root(a);
    if (write_all(a->fd, a->data, a->len) < 0)
        child_fail(a, -1, "write", a->w->path);
    _exit(0);
}

int env_write_data(const struct env *env, const char *path, int fd, const void *data, size_t len,
                   struct failure *f)
{
    struct env_write w = { .path = path };
    struct files_args a = { .env = env, .stage = "write", .w = &w, .fd = fd, .data = data, .len = len,
                            .root = real_root() };
    return run_in_our_memory(write_data_child, &a, CLONE_FILES, &a.failure, a.stage,
                             "the process writing in the environment died", f);
}

/* Into a->entries_fd (a memfd): each entry of DIR but . and .. as NAME\0MODE\0TARGET\0 (st_mode in octal,
 * not following a symlink; TARGET a symlink's, else empty). One gone since it was listed is left
 * out. With raw getdents64: no malloc in a child that shares our memory. */
static void write_entries(struct files_args *a, int dir)
{
    static char buf[READ_CHUNK];
    static char entry[NAME_MAX + 1 + 16 + PATH_MAX + 1];
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64 {
                unsigned long long d_ino;
                long long d_off;
                unsigned short d_reclen;
                unsigned char d_type;
                char d_name[];
            } *e = (struct linux_dirent64 *)(buf + off);
            off += e->d_reclen;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            struct stat st;
            if (fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                    continue;
                child_fail(a, dir, "fstatat", a->r->path);
            }
            int len = snprintf(entry, sizeof entry, "%s%c%o%c", e->d_name, 0, (unsigned)st.st_mode, 0);
            ssize_t target = 0;
            if (S_ISLNK(st.st_mode)) {
                target = readlinkat(dir, e->d_name, entry + len, PATH_MAX);
                if (target < 0 && errno == ENOENT)
                    continue;
                if (target < 0)
                    child_fail(a, dir, "readlinkat", a->r->path);
            }
            len += (int)target;
            entry[len++] = '\0';
            if (write(a->entries_fd, entry, (size_t)len) != len)
                child_fail(a, dir, "write", "a memfd");
        }
    }
    if (n < 0)
        child_fail(a, dir, "getdents", a->r->path);
}

static int read_child(void *arg)
{
    struct files_args *a = arg;
    become_env_root(a);
    const struct env_read *r = a->r;
    int nofollow = r->follow ? 0 : O_NOFOLLOW;
    int fd = open_at_in_root(a->root_fd, r->path, O_PATH | O_CLOEXEC | nofollow, 0);
    if (fd < 0)
        child_fail(a, -1, "openat2", r->path);
    refuse_unless(a, fd, r->path, r->type);
    if (r->type == S_IFREG) { /* a regular file a moment ago: opening it neither blocks nor has effects */
        close(fd);
        fd = open_at_in_root(a->root_fd, r->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | nofollow, 0);
        if (fd < 0)
            child_fail(a, -1, "openat2", r->path);
        refuse_unless(a, fd, r->path, S_IFREG); /* swapped in meanwhile */
    } else if (r->type == S_IFDIR) { /* the very directory looked at */
        int dir = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
            child_fail(a, fd, "openat", r->path);
        close(fd);
        fd = dir;
        if (r->entries) {
            write_entries(a, dir);
            close(dir);
            fd = a->entries_fd;
        }
    }
    a->fd = fd;
    _exit(0);
}

/* Without offset= a file over the limit is not read (*MORE, no data: readString's bound); with
 * offset=N (a chunk of copyOut) the bytes from N on are sent, at most the limit (default: up to the
 * size when opened, 64 MiB when that says 0), *MORE when the file holds one past them. */
static int send_file(struct files_args *a, struct writer *out, uint32_t id, bool *more, struct failure *f)
{
    const struct env_read *r = a->r;
    long long size = a->st.st_size, from = r->offset > 0 ? r->offset : 0;
    long long limit = r->limit >= 0 ? r->limit
                    : size <= 0     ? READ_DEFAULT_LIMIT
                    : size > from   ? size - from
                                    : 0;
    static char buf[READ_CHUNK];
    long long sent = 0;
    *more = r->offset < 0 && size > limit;
    if (from > 0 && !*more && lseek(a->fd, from, SEEK_SET) < 0)
        return fail(f, "read", "lseek", r->path, NULL);
    while (!*more) {
        size_t want = sent < limit ? (size_t)(limit - sent < READ_CHUNK ? limit - sent : READ_CHUNK) : 1;
        ssize_t n = read(a->fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(f, "read", "read", r->path, NULL);
        if (n == 0)
            break;
        if (sent == limit) { /* the byte past the limit: the file holds more */
            *more = true;
            break;
        }
        send_frame(out, FRAME_READ_DATA, id, buf, (size_t)n);
        sent += n;
    }
    return 0;
}

/* What write_entries left in the memfd (a->fd by now), in frames of at most READ_CHUNK bytes. */
static int send_entries(struct files_args *a, struct writer *out, uint32_t id, struct failure *f)
{
    static char buf[READ_CHUNK];
    ssize_t n;
    for (off_t at = 0; (n = pread(a->fd, buf, sizeof buf, at)) != 0; at += n) {
        if (n < 0 && errno == EINTR) {
            n = 0;
            continue;
        }
        if (n < 0)
            return fail(f, "read", "read", "a memfd", NULL);
        send_frame(out, FRAME_READ_DATA, id, buf, (size_t)n);
    }
    return 0;
}

/* A directory's names, each followed by a NUL, in frames of at most READ_CHUNK bytes. */
static int send_names(struct files_args *a, struct writer *out, uint32_t id, struct failure *f)
{
    DIR *dir = fdopendir(a->fd);
    if (!dir)
        return fail(f, "read", "fdopendir", a->r->path, NULL);
    a->fd = -1; /* closedir closes it */
    static char buf[READ_CHUNK];
    size_t used = 0;
    struct dirent *e;
    for (errno = 0; (e = readdir(dir)) != NULL; errno = 0) {
        size_t len = strlen(e->d_name) + 1;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (used + len > sizeof buf) {
            send_frame(out, FRAME_READ_DATA, id, buf, used);
            used = 0;
        }
        memcpy(buf + used, e->d_name, len);
        used += len;
    }
    int err = errno;
    closedir(dir);
    if (err) {
        errno = err;
        return fail(f, "read", "getdents", a->r->path, NULL);
    }
    if (used)
        send_frame(out, FRAME_READ_DATA, id, buf, used);
    return 0;
}

static const char *type_word(mode_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "char";
    case S_IFBLK: return "block";
    default: return "other";
    }
}

int env_read(const struct env *env, const struct env_read *r, struct writer *out, uint32_t id,
             struct record_builder *ack, struct failure *f)
{
    struct files_args a = { .env = env, .stage = "read", .r = r };
    int entries = -1;
    if (r->entries && (entries = memfd_create("isolated-read", MFD_CLOEXEC)) < 0)
        return fail(f, "read", "memfd_create", r->path, NULL);
    a.entries_fd = entries;
    int child = run_files_child(read_child, &a, "the process reading in the environment died", f);
    if (child < 0) {
        if (entries >= 0)
            close(entries);
        return -1;
    }
    bool more = false;
    int rc = 0;
    if (r->type == S_IFREG) {
        rc = send_file(&a, out, id, &more, f);
    } else if (r->type == S_IFDIR && r->entries) {
        rc = send_entries(&a, out, id, f);
    } else if (r->type == S_IFDIR) {
        rc = send_names(&a, out, id, f);
    } else if (r->type == S_IFLNK) {
        char target[PATH_MAX];
        ssize_t len = readlinkat(a.fd, "", target, sizeof target);
        if (len < 0)
            rc = fail(f, "read", "readlinkat", r->path, NULL);
        else if (len > 0)
            send_frame(out, FRAME_READ_DATA, id, target, (size_t)len);
    }
    if (a.fd >= 0)
        close(a.fd);
    if (rc == 0) {
        record_add(ack, "type", "%s", type_word(a.st.st_mode));
        record_add(ack, "mode", "%o", (unsigned)a.st.st_mode);
        record_add(ack, "size", "%lld", (long long)a.st.st_size);
        if (more)
            record_add(ack, "more", "true");
    }
    return rc;
}

int parse_env_read(const struct record *rec, struct env_read *out, struct failure *f)
{
    const char *path = record_get(rec, "path"), *type = record_get(rec, "type"), *follow = record_get(rec, "follow"),
               *limit = record_get(rec, "limit"), *entries = record_get(rec, "entries"),
               *offset = record_get(rec, "offset");
    memset(out, 0, sizeof *out);
    errno = EINVAL;
    if (!path || path[0] != '/')
        return fail(f, "request", "read", path ? path : "", "path= is an absolute path inside the environment");
    out->path = path;
    out->type = !type                          ? 0
              : strcmp(type, "file") == 0      ? S_IFREG
              : strcmp(type, "dir") == 0       ? S_IFDIR
              : strcmp(type, "symlink") == 0   ? S_IFLNK
                                               : (mode_t)-1;
    if (out->type == (mode_t)-1)
        return fail(f, "request", "read", path, "type= is file, dir or symlink");
    if (follow && strcmp(follow, "true") != 0 && strcmp(follow, "false") != 0)
        return fail(f, "request", "read", path, "follow= is true or false");
    out->follow = !follow || strcmp(follow, "true") == 0;
    if (entries && (out->type != S_IFDIR || strcmp(entries, "true") != 0))
        return fail(f, "request", "read", path, "entries=true goes with type=dir only");
    out->entries = entries != NULL;
    out->limit = -1;
    if (limit && (out->type != S_IFREG || parse_integer(limit, 10, 0, LLONG_MAX, &out->limit) < 0))
        return fail(f, "request", "read", path, "limit= is the most bytes of a file to read");
    out->offset = -1;
    if (offset && (out->type != S_IFREG || parse_integer(offset, 10, 0, LLONG_MAX, &out->offset) < 0))
        return fail(f, "request", "read", path, "offset= is where in a file to start reading");
    return 0;
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
