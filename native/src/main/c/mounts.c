/*
 * mounts.c - building the environment's root filesystem.
 *
 * - The rootfs directory is only ever a read-only lower layer or a copy source: never written.
 * - Everything writable lives on a fresh tmpfs that exists only in the env's mount namespace
 *   (or, without one, in the helper's private mount namespace), so it vanishes with it.
 * - Mount targets inside the new root are checked not to be symlinks: an image shipping
 *   `/dev -> /somewhere` must not make us mount over a host path (runc CVE-2026-41579).
 * - Only mount(2)/pivot_root(2) syscalls: no external programs (each costs milliseconds).
 * - As real root the env's user namespace maps 0..65535 to a host range of its own, and the
 *   image's files (owned by host 0, 1, ...) would show as nobody inside. So the helper, which
 *   holds CAP_SYS_ADMIN in the initial user namespace, clones the rootfs as a detached mount
 *   idmapped to the env's user namespace (open_tree + mount_setattr(MOUNT_ATTR_IDMAP), read-only,
 *   nosuid, nodev); the writable root is built from that clone, attached at SCRATCH/lower: the
 *   overlay's lower layer (Linux 5.19+) or the copy's source. Host 0 reads as 0 inside; what
 *   root inside writes (the tmpfs upper) belongs to the range's host ids. A filesystem without
 *   idmapped mounts (tmpfs before 6.3, overlayfs before 7.2) gets, per env, a copy of the image
 *   on a detached tmpfs with every owner shifted into the range instead (~15 ms for busybox).
 */
#include "mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* systemd makes every mount shared; a new mount ns then stays a peer of the host's and our
 * mounts would propagate back. Private, first thing, before any other mount. */
int make_root_private(struct failure *f)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail(f, "mount-private", "mount", "/", NULL);
    return 0;
}

/* overlayfs splits options on ',' and lowerdir on ':'; both may be escaped with '\'. */
static void escape_overlay_path(char *out, size_t size, const char *path)
{
    size_t n = 0;
    for (; *path && n + 2 < size; path++) {
        if (*path == ',' || *path == ':' || *path == '\\')
            out[n++] = '\\';
        out[n++] = *path;
    }
    out[n] = '\0';
}

/* LOWERS: the lower layers, topmost first; upper and work in UPPER_BASE. The buffers are sized to
 * the paths, not PATH_MAX (see JOINED_SIZE). */
static int mount_overlay(const char *const *lowers, size_t n, const char *upper_base,
                         const char *scratch, bool in_userns, struct failure *f)
{
    size_t lower_size = 1;
    for (size_t i = 0; i < n; i++)
        lower_size += 2 * strlen(lowers[i]) + 1;
    size_t up_size = 2 * strlen(upper_base) + 1, target_size = strlen(scratch) + sizeof "/root";
    char lower[lower_size], up[up_size], opts[lower_size + 2 * up_size + 64], target[target_size];
    size_t used = 0;
    lower[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            lower[used++] = ':';
        escape_overlay_path(lower + used, sizeof lower - used, lowers[i]);
        used += strlen(lower + used);
    }
    escape_overlay_path(up, sizeof up, upper_base);
    snprintf(target, sizeof target, "%s/root", scratch);
    /* In a user namespace overlayfs must keep its metadata in user.* xattrs (Linux 5.11+);
     * some distro kernels allowed it earlier without the option, so retry without it. */
    for (int attempt = in_userns ? 0 : 1; attempt < 2; attempt++) {
        snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s/upper,workdir=%s/work%s", lower,
                 up, up, attempt == 0 ? ",userxattr" : "");
        if (mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts) == 0)
            return 0;
    }
    return fail(f, "overlay", "mount", target, n > 1 || strcmp(upper_base, scratch) != 0
                ? "layers and a disk-backed upper need overlayfs, and an upper dir on a filesystem "
                  "with xattrs that is not overlayfs itself (ext4, xfs, btrfs, tmpfs)" : NULL);
}

static int copy_file_at(int src_dir, int dst_dir, const char *name, const struct stat *st)
{
    /* O_NONBLOCK and the check: a FIFO swapped in since the fstatat is never waited on */
    int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return -1;
    struct stat now;
    if (fstat(in, &now) < 0 || !S_ISREG(now.st_mode)) {
        close(in);
        errno = EINVAL;
        return -1;
    }
    int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    int rc = 0;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n > 0)
            continue;
        if (n == 0)
            break;
        /* EXDEV/ENOSYS/EINVAL on older kernels or odd filesystems: plain copy. */
        char buf[65536];
        while ((n = read(in, buf, sizeof buf)) > 0)
            if (write_all(out, buf, (size_t)n) < 0)
                break;
        rc = n == 0 ? 0 : -1;
        break;
    }
    int saved = errno; /* a failed copy's error, not what the fchown below sets */
    (void)fchown(out, st->st_uid, st->st_gid); /* fails for unmapped owners: keep ours */
    if (rc == 0 && fchmod(out, st->st_mode & 07777) < 0) {
        rc = -1;
        saved = errno;
    }
    close(out);
    close(in);
    errno = saved;
    return rc;
}

/* A copy in progress: the first entry that failed; id_base > 0 shifts owners into a range,
 * unshift > 0 back out of one (copy_layer). */
struct copy_ctx {
    char failed[256];
    unsigned id_base;
    unsigned unshift;
};

/* overlayfs's mark of a directory that hides what the layers below hold under its name */
static const char *const OPAQUE_XATTRS[] = { "user.overlay.opaque", "trusted.overlay.opaque" };

static void copy_opaque_xattrs(int src, int dst)
{
    char value[16];
    for (size_t i = 0; i < sizeof OPAQUE_XATTRS / sizeof OPAQUE_XATTRS[0]; i++) {
        ssize_t n = fgetxattr(src, OPAQUE_XATTRS[i], value, sizeof value);
        if (n > 0)
            (void)fsetxattr(dst, OPAQUE_XATTRS[i], value, (size_t)n, 0);
    }
}

static int copy_tree_at(int src_dir, int dst_dir, struct copy_ctx *ctx);

static int copy_dir_at(int src_dir, int dst_dir, const char *name, const struct stat *st,
                       struct copy_ctx *ctx)
{
    int src = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (src < 0)
        return -1;
    int dst = -1, rc = -1;
    if (mkdirat(dst_dir, name, 0700) == 0 &&
        (dst = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
        rc = copy_tree_at(src, dst, ctx);
        int copy_errno = errno; /* a failed copy's error, not what the fchown below sets */
        copy_opaque_xattrs(src, dst);
        (void)fchown(dst, st->st_uid, st->st_gid);
        /* the mode last: a 0555 directory must stay writable while we fill it */
        if (rc == 0)
            rc = fchmod(dst, st->st_mode & 07777);
        else
            errno = copy_errno;
    }
    int saved = errno;
    if (dst >= 0)
        close(dst);
    close(src);
    errno = saved;
    return rc;
}

static int copy_symlink_at(int src_dir, int dst_dir, const char *name, const struct stat *st)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(src_dir, name, target, sizeof target - 1);
    if (n < 0)
        return -1;
    target[n] = '\0';
    if (symlinkat(target, dst_dir, name) < 0)
        return -1;
    (void)fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
    return 0;
}

/* Into a range: id < 65536 becomes base + id, any other nobody's (base + 65534). Out of one
 * (unshift): base + id becomes id, any other 65534. */
static unsigned shifted(unsigned id, const struct copy_ctx *ctx)
{
    if (ctx->unshift)
        return id >= ctx->unshift && id - ctx->unshift < 65536 ? id - ctx->unshift : 65534;
    return ctx->id_base == 0 ? id : ctx->id_base + (id < 65536 ? id : 65534);
}

/* A whiteout (character device 0:0) or a FIFO: made anew (mknod of these needs no CAP_MKNOD). */
static int copy_node_at(int dst_dir, const char *name, const struct stat *st)
{
    if (mknodat(dst_dir, name, S_ISFIFO(st->st_mode) ? S_IFIFO | 0600 : S_IFCHR, 0) < 0)
        return -1;
    (void)fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
    return S_ISFIFO(st->st_mode) ? fchmodat(dst_dir, name, st->st_mode & 07777, 0) : 0;
}

/* Records where a copy failed as a path below the copy's top: the entry that failed first names itself
 * (a directory that could not be read: "."), and each directory it is in is put in front on the way up. */
static void note_failed(struct copy_ctx *ctx, const char *name)
{
    int saved = errno; /* the failure's, for the message */
    size_t n = strlen(name), m = strlen(ctx->failed);
    if (m == 0 || strcmp(ctx->failed, ".") == 0) {
        snprintf(ctx->failed, sizeof ctx->failed, "%s", name);
    } else if (n + 1 + m < sizeof ctx->failed) { /* else the path below stays, without its top */
        memmove(ctx->failed + n + 1, ctx->failed, m + 1);
        memcpy(ctx->failed, name, n);
        ctx->failed[n] = '/';
    }
    errno = saved;
}

static int copy_entry(int src_dir, int dst_dir, const char *name, struct copy_ctx *ctx)
{
    struct stat st;
    int rc = 0;
    if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        rc = -1;
    } else {
        st.st_uid = shifted(st.st_uid, ctx);
        st.st_gid = shifted(st.st_gid, ctx);
    }
    if (rc < 0)
        ;
    else if (S_ISDIR(st.st_mode))
        rc = copy_dir_at(src_dir, dst_dir, name, &st, ctx);
    else if (S_ISREG(st.st_mode))
        rc = copy_file_at(src_dir, dst_dir, name, &st);
    else if (S_ISLNK(st.st_mode))
        rc = copy_symlink_at(src_dir, dst_dir, name, &st);
    else if (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)))
        rc = copy_node_at(dst_dir, name, &st);
    /* other device nodes and sockets are skipped: they cannot be created in a userns */
    if (rc == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
        struct timespec times[2] = { st.st_atim, st.st_mtim };
        (void)utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW);
    }
    if (rc < 0)
        note_failed(ctx, name);
    return rc;
}

static int copy_tree_at(int src_dir, int dst_dir, struct copy_ctx *ctx)
{
    int fd = dup(src_dir);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        snprintf(ctx->failed, sizeof ctx->failed, ".");
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(dir));) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rc = copy_entry(src_dir, dst_dir, e->d_name, ctx);
    }
    int saved = errno;
    closedir(dir);
    errno = saved;
    return rc;
}

/* ROOTFS into the directory DST (an fd), owners shifted into ID_BASE's range when > 0. */
static int copy_rootfs_into(const char *rootfs, int dst, unsigned id_base, struct failure *f)
{
    struct copy_ctx ctx = { .failed = "", .id_base = id_base };
    int src = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src < 0)
        return fail(f, "copy-rootfs", "open", rootfs, NULL);
    int rc = dst < 0 ? -1 : copy_tree_at(src, dst, &ctx);
    int saved = errno;
    close(src);
    errno = saved;
    if (rc < 0) {
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s (at %s)", rootfs, ctx.failed);
        return fail(f, "copy-rootfs", "copy", path, "the rootfs must be readable by the caller");
    }
    return 0;
}

/* The fallback when overlayfs is unavailable: a full copy (slow: ~15 ms for busybox). */
static int copy_rootfs(const char *rootfs, const char *target, struct failure *f)
{
    int dst = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = copy_rootfs_into(rootfs, dst, 0, f);
    if (dst >= 0)
        close(dst);
    return rc;
}

static int make_scratch_dirs(const char *scratch, const char *upper_base, const char *rootfs,
                             bool with_layers, struct failure *f)
{
    static const char *const names[] = { "root", "upper", "work" };
    struct stat st;
    if (stat(rootfs, &st) < 0)
        return fail(f, "mount-rootfs", "stat", rootfs, NULL);
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return fail(f, "mount-rootfs", "stat", rootfs, "the rootfs must be a directory");
    }
    for (size_t i = 0; i < (with_layers ? 3u : 1u); i++) {
        char path[JOINED_SIZE(i == 0 ? scratch : upper_base, names[i])];
        if (join_path(path, sizeof path, i == 0 ? scratch : upper_base, names[i]) < 0 ||
            (mkdir(path, 0755) < 0 && errno != EEXIST))
            return fail(f, "mount-rootfs", "mkdir", path, NULL);
        /* The merged root takes its owner and mode from the upper dir, when overlayfs makes its
         * root inode: so both are the rootfs's (as the lower shows it: idmapped as root) before
         * the mount; a copy's root too. An owner the caller cannot give (rootless) stays ours. */
        if (i < 2)
            (void)chown(path, st.st_uid, st.st_gid);
        if (i == 1)
            (void)chmod(path, st.st_mode & 07777);
    }
    return 0;
}

int open_writable_layer(const char *scratch, enum rootfs_mode used, struct failure *f)
{
    char path[JOINED_SIZE(scratch, "upper")];
    if (join_path(path, sizeof path, scratch, used == ROOTFS_OVERLAY ? "upper" : "root") < 0)
        return fail(f, "mount-rootfs", "open", scratch, NULL);
    int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(f, "mount-rootfs", "open", path, NULL);
    return fd;
}

/* The fallback of open_idmapped_tree(): ROOTFS copied onto a fresh detached tmpfs, every owner
 * shifted into BASE's range (64K-aligned: base + id), then made read-only. ~15 ms for busybox. */
static int open_shifted_copy(const char *rootfs, unsigned base, struct failure *f)
{
    struct stat st;
    int mnt = -1, fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fs >= 0 && syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
        mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    if (fs >= 0)
        close(fs);
    if (mnt < 0)
        return fail(f, "mount-rootfs", "fsmount", "tmpfs", "a shifted copy of the image needs Linux 5.2+");
    int top = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
    struct copy_ctx ids = { .id_base = base };
    int rc = top < 0 || stat(rootfs, &st) < 0 ? fail(f, "copy-rootfs", "stat", rootfs, NULL)
                                               : copy_rootfs_into(rootfs, top, base, f);
    if (rc == 0 && (fchown(top, shifted(st.st_uid, &ids), shifted(st.st_gid, &ids)) < 0 ||
                    fchmod(top, st.st_mode & 07777) < 0 ||
                    syscall(SYS_mount_setattr, mnt, "", AT_EMPTY_PATH, &ro, sizeof ro) < 0))
        rc = fail(f, "copy-rootfs", "chown", rootfs, NULL);
    if (top >= 0)
        close(top);
    if (rc < 0)
        close(mnt);
    return rc < 0 ? -1 : mnt;
}

int open_idmapped_tree(const char *rootfs, int userns_fd, unsigned base, struct failure *f)
{
    static bool told;
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    if (fd < 0)
        return fail(f, "mount-rootfs", "open_tree", rootfs,
                    "as root the image is idmapped into the env's user namespace: Linux 5.12+");
    struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                           MOUNT_ATTR_NODEV,
                               .userns_fd = (unsigned)userns_fd };
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0)
        return fd;
    int err = errno;
    close(fd);
    errno = err;
    if (err != EINVAL) /* EINVAL: the filesystem has no idmapped mounts (tmpfs < 6.3, overlayfs) */
        return fail(f, "mount-rootfs", "mount_setattr", rootfs,
                    "as root the image is idmapped into the env's user namespace (Linux 5.12+)");
    if (!told)
        fprintf(stderr, "isolated-helper: %s: no idmapped mounts on its filesystem; each environment "
                "gets a copy with shifted owners instead (slower)\n", rootfs);
    told = true;
    return open_shifted_copy(rootfs, base, f);
}

int open_upper_dir(const char *dir, unsigned base, struct failure *f)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(f, "upper-dir", "open", dir, "the upper dir must be an existing directory%s",
                    errno == ENOENT ? mounted_later_note() : "");
    int tree = -1;
    if (fchown(fd, base, base) < 0 || fchmod(fd, 0700) < 0)
        fail(f, "upper-dir", "fchown", dir, NULL);
    else if ((tree = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                              AT_EMPTY_PATH)) < 0)
        fail(f, "upper-dir", "open_tree", dir, NULL);
    int saved = errno;
    close(fd);
    errno = saved;
    return tree;
}

/* Attaches the detached mount FD at SCRATCH/NAME; OUT: its path. */
static int attach_tree(int fd, const char *scratch, const char *name, char *out, size_t size,
                       struct failure *f)
{
    if (join_path(out, size, scratch, name) < 0 || (mkdir(out, 0755) < 0 && errno != EEXIST))
        return fail(f, "mount-rootfs", "mkdir", scratch, NULL);
    if (syscall(SYS_move_mount, fd, "", AT_FDCWD, out, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return fail(f, "mount-rootfs", "move_mount", out, NULL);
    return 0;
}

/* Attaches the idmapped clone LOWER_FD at SCRATCH/lower; the path to use as the rootfs. */
static int attach_lower(int lower_fd, const char *scratch, char *out, size_t size,
                        struct failure *f)
{
    if (join_path(out, size, scratch, "lower") < 0 || (mkdir(out, 0755) < 0 && errno != EEXIST))
        return fail(f, "mount-rootfs", "mkdir", scratch, NULL);
    if (syscall(SYS_move_mount, lower_fd, "", AT_FDCWD, out, MOVE_MOUNT_F_EMPTY_PATH) < 0)
        return fail(f, "mount-rootfs", "move_mount", out, NULL);
    return 0;
}

#define MAX_LAYER_PLAN 16

int prepare_writable_root(const char *rootfs, int lower_fd, const char *scratch,
                          enum rootfs_mode mode, bool mount_tmpfs, bool in_userns,
                          const struct layer_plan *plan, enum rootfs_mode *used, int *layer_fd,
                          struct failure *f)
{
    static const struct layer_plan none = { .upper_fd = -1 };
    if (!plan)
        plan = &none;
    /* sized to the paths, not PATH_MAX (see JOINED_SIZE) */
    size_t in_scratch = strlen(scratch) + 16; /* SCRATCH/lower, /layerN, /disk, /root */
    size_t upper_size = plan->upper_dir && strlen(plan->upper_dir) >= in_scratch ? strlen(plan->upper_dir) + 1
                                                                                : in_scratch;
    char lower[in_scratch], opts[96], upper_base[upper_size];
    char attached[plan->n && plan->fds ? MAX_LAYER_PLAN : 1][in_scratch];
    const char *lowers[MAX_LAYER_PLAN + 1];
    snprintf(opts, sizeof opts, "mode=0755%s%s", plan->tmpfs_size ? ",size=" : "",
             plan->tmpfs_size ? plan->tmpfs_size : "");
    if (mount_tmpfs && mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        return fail(f, "mount-rootfs", "mount", scratch, "the state directory must exist");
    if (lower_fd >= 0 && attach_lower(lower_fd, scratch, lower, sizeof lower, f) < 0)
        return -1;
    if (lower_fd >= 0)
        rootfs = lower;
    size_t n = 0;
    for (; n < plan->n && n < MAX_LAYER_PLAN; n++) {
        char name[32];
        snprintf(name, sizeof name, "layer%zu", n);
        if (plan->fds && attach_tree(plan->fds[n], scratch, name, attached[n], sizeof attached[n], f) < 0)
            return -1;
        lowers[n] = plan->fds ? attached[n] : plan->paths[n];
    }
    lowers[n] = rootfs;
    snprintf(upper_base, sizeof upper_base, "%s", plan->upper_dir ? plan->upper_dir : scratch);
    if (plan->upper_fd >= 0 && attach_tree(plan->upper_fd, scratch, "disk", upper_base,
                                           sizeof upper_base, f) < 0)
        return -1;
    bool layered = n > 0 || plan->upper_dir;
    if (layered)
        mode = ROOTFS_OVERLAY; /* a copy would leave the layers out */
    if (make_scratch_dirs(scratch, upper_base, lowers[0], mode != ROOTFS_COPY, f) < 0)
        return -1;
    if (mode != ROOTFS_COPY) {
        if (mount_overlay(lowers, n + 1, upper_base, scratch, in_userns, f) == 0) {
            *used = ROOTFS_OVERLAY;
            return layer_fd && (*layer_fd = open_writable_layer(upper_base, *used, f)) < 0 ? -1 : 0;
        }
        if (mode == ROOTFS_OVERLAY)
            return -1;
    }
    char target[in_scratch];
    snprintf(target, sizeof target, "%s/root", scratch);
    if (copy_rootfs(rootfs, target, f) < 0)
        return -1;
    /* Opened before the bind below: through it, mounts made later on the root stay unseen. */
    if (layer_fd && (*layer_fd = open_writable_layer(scratch, ROOTFS_COPY, f)) < 0)
        return -1;
    /* pivot_root wants new_root to be a mount point; a plain directory becomes one when
     * bind-mounted onto itself. */
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0 && mount_tmpfs)
        return fail(f, "copy-rootfs", "mount", target, NULL);
    *used = ROOTFS_COPY;
    return 0;
}

/* Creates ROOT/NAME as a directory unless it is one; a symlink there is refused. */
int ensure_mount_point(const char *root, const char *name, const char *stage, struct failure *f)
{
    char path[JOINED_SIZE(root, name)];
    struct stat st;
    if (join_path(path, sizeof path, root, name) < 0)
        return fail(f, stage, "lstat", root, NULL);
    if (lstat(path, &st) < 0) {
        if (errno != ENOENT || mkdir(path, 0755) < 0)
            return fail(f, stage, "mkdir", path, NULL);
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        errno = ELOOP;
        return fail(f, stage, "lstat", path,
                    "the rootfs has /%s as a symlink; it must be a directory (or absent)", name);
    }
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return fail(f, stage, "lstat", path, "the rootfs has /%s but not as a directory", name);
    }
    return 0;
}

static int bind_host_device(const char *dev, const char *name, struct failure *f)
{
    char source[64], target[JOINED_SIZE(dev, name)];
    snprintf(source, sizeof source, "/dev/%s", name);
    if (join_path(target, sizeof target, dev, name) < 0)
        return fail(f, "mount-dev", "open", dev, NULL);
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return fail(f, "mount-dev", "open", target, NULL);
    close(fd);
    if (mount(source, target, NULL, MS_BIND, NULL) < 0)
        return fail(f, "mount-dev", "mount", source, NULL);
    return 0;
}

static int make_dev_links(const char *dev, struct failure *f)
{
    static const char *const links[][2] = {
        { "ptmx", "pts/ptmx" },         { "fd", "/proc/self/fd" },
        { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" },
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        char path[JOINED_SIZE(dev, links[i][0])];
        if (join_path(path, sizeof path, dev, links[i][0]) < 0 ||
            symlink(links[i][1], path) < 0)
            return fail(f, "mount-dev", "symlink", path, NULL);
    }
    return 0;
}

/* A fresh /dev: device nodes cannot be created in a user namespace (mknod needs CAP_MKNOD in
 * the initial one), so the host's harmless nodes are bind-mounted onto empty files. The tmpfs
 * itself is nodev (each bind keeps the flags of the host's /dev, devpts is a mount of its own),
 * as every other writable mount of the env: root inside cannot mknod (a user namespace, also as
 * real root), and a node that came with the image opens nothing. */
int mount_dev(const char *root, struct failure *f)
{
    static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
    char dev[JOINED_SIZE(root, "dev")], path[JOINED_SIZE(root, "dev/pts")]; /* pts or shm */
    if (ensure_mount_point(root, "dev", "mount-dev", f) < 0)
        return -1;
    if (join_path(dev, sizeof dev, root, "dev") < 0 ||
        mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
        return fail(f, "mount-dev", "mount", dev, NULL);
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++)
        if (bind_host_device(dev, devices[i], f) < 0)
            return -1;
    if (join_path(path, sizeof path, dev, "pts") < 0 || mkdir(path, 0755) < 0 ||
        mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=620") < 0)
        return fail(f, "mount-dev", "mount", path, NULL);
    if (join_path(path, sizeof path, dev, "shm") < 0 || mkdir(path, 01777) < 0 ||
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
        return fail(f, "mount-dev", "mount", path, NULL);
    return make_dev_links(dev, f);
}

/* pivot_root(".", ".") stacks the old root on top of the new one, so no put_old directory is
 * needed; it is then detached. The old root is made private first, or the detach would
 * propagate unmount events to its peers. */
int pivot_into(const char *root, struct failure *f)
{
    if (chdir(root) < 0)
        return fail(f, "pivot-root", "chdir", root, NULL);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return fail(f, "pivot-root", "pivot_root", root,
                    "pivot_root needs a real root mount (not an initramfs, not a chroot)");
    if (mount(NULL, ".", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail(f, "pivot-root", "mount", "(old root)", NULL);
    if (umount2(".", MNT_DETACH) < 0)
        return fail(f, "pivot-root", "umount2", "(old root)", NULL);
    if (chdir("/") < 0)
        return fail(f, "pivot-root", "chdir", "/", NULL);
    return 0;
}

/* procfs shows the PID namespace of the mounter, so the init (PID 1 in it) mounts it. In a
 * user namespace the kernel only allows it while another proc mount is fully visible in this
 * mount namespace ("mount too revealing"), so this runs before the old root is detached.
 * Without a PID namespace of our own an unprivileged caller may not mount proc at all:
 * /proc then stays empty. */
/* The kernel-wide knobs of /proc, not namespaced: read-only, as Docker, runc and crun make them.
 * Root inside may otherwise write them without any capability (uid 0 owns them): reboot the
 * host through sysrq-trigger, set host-wide sysctls. */
static const char *const PROC_READONLY[] = { "sys", "sysrq-trigger", "irq", "bus", "fs" };
/* Files that show host internals (kernel memory, keys, timers, scheduler): masked, as Docker does. */
static const char *const PROC_MASKED[] = { "kcore", "keys", "timer_list", "sched_debug",
                                           "latency_stats", "acpi", "scsi" };
#define PROC_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int proc_readonly(const char *proc, const char *name, struct failure *f)
{
    char path[JOINED_SIZE(proc, name)];
    if (join_path(path, sizeof path, proc, name) < 0)
        return fail(f, "mount-proc", "mount", proc, NULL);
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
        return errno == ENOENT ? 0 : fail(f, "mount-proc", "mount", path, NULL);
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | PROC_FLAGS, NULL) < 0)
        return fail(f, "mount-proc", "mount(remount,ro)", path, NULL);
    return 0;
}

static int proc_mask(const char *proc, const char *name, const char *null, struct failure *f)
{
    char path[JOINED_SIZE(proc, name)];
    struct stat st;
    if (join_path(path, sizeof path, proc, name) < 0)
        return fail(f, "mount-proc", "mount", proc, NULL);
    if (lstat(path, &st) < 0)
        return 0; /* not in this kernel */
    int rc = S_ISDIR(st.st_mode)
                 ? mount("tmpfs", path, "tmpfs", MS_RDONLY | PROC_FLAGS, "size=0,mode=0555")
                 : mount(null, path, NULL, MS_BIND, NULL);
    return rc < 0 ? fail(f, "mount-proc", "mount", path, "masking it") : 0;
}

static int harden_proc(const char *root, const char *proc, struct failure *f)
{
    char null[JOINED_SIZE(root, "dev/null")];
    if (join_path(null, sizeof null, root, "dev/null") < 0)
        return fail(f, "mount-proc", "mount", root, NULL);
    for (size_t i = 0; i < sizeof PROC_READONLY / sizeof PROC_READONLY[0]; i++)
        if (proc_readonly(proc, PROC_READONLY[i], f) < 0)
            return -1;
    for (size_t i = 0; i < sizeof PROC_MASKED / sizeof PROC_MASKED[0]; i++)
        if (proc_mask(proc, PROC_MASKED[i], null, f) < 0)
            return -1;
    return 0;
}

int mount_proc(const char *root, bool own_pid_ns, struct failure *f)
{
    char path[JOINED_SIZE(root, "proc")];
    if (join_path(path, sizeof path, root, "proc") < 0)
        return fail(f, "mount-proc", "mount", root, NULL);
    if (mount("proc", path, "proc", PROC_FLAGS, NULL) == 0)
        return harden_proc(root, path, f);
    if (!own_pid_ns && errno == EPERM)
        return 0;
    return fail(f, "mount-proc", "mount", path, NULL);
}

int mount_tmp(const char *root, struct failure *f)
{
    char path[JOINED_SIZE(root, "tmp")];
    if (join_path(path, sizeof path, root, "tmp") < 0 ||
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
        return fail(f, "mount-tmp", "mount", path, NULL);
    return 0;
}

/* Empties DIR, a directory this copy made, after the copy failed: never follows a symlink, and
 * makes each subdirectory 0700 before emptying it (a copied 0555 or 0000 one would refuse). */
static void remove_copied(int dir)
{
    int fd = dup(dir);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            unlinkat(dir, e->d_name, 0) == 0)
            continue;
        int at = openat(dir, e->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (at < 0)
            continue;
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", at);
        (void)chmod(self, 0700); /* the directory `at` holds, not what its name may be by now */
        int sub = openat(at, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(at);
        if (sub >= 0) {
            remove_copied(sub);
            close(sub);
        }
        (void)unlinkat(dir, e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

/* A failed copy leaves nothing: TO (made by this copy, open as DST) is emptied and removed, if
 * TO is still that directory. */
static void remove_failed_copy(const char *to, int dst)
{
    struct stat made, now;
    if (dst < 0 || fstat(dst, &made) < 0)
        return;
    remove_copied(dst);
    if (lstat(to, &now) == 0 && now.st_dev == made.st_dev && now.st_ino == made.st_ino)
        (void)rmdir(to);
}

int copy_layer(const char *from, const char *to, unsigned unshift, struct failure *f)
{
    struct copy_ctx ctx = { .failed = "", .unshift = unshift };
    struct stat st;
    int src = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src < 0 || fstat(src, &st) < 0)
        return fail(f, "copy-layer", "open", from, NULL);
    int dst = -1, rc = -1;
    struct statfs fs;
    if (mkdir(to, 0700) < 0) {
        fail(f, "copy-layer", "mkdir", to, "the target must not exist");
    } else if (statfs(to, &fs) == 0 && fs.f_type == 0x794c7630 /* OVERLAYFS_SUPER_MAGIC */) {
        rmdir(to);
        errno = EXDEV;
        fail(f, "copy-layer", "statfs", to, "the target is on overlayfs, where a whiteout (a deleted file) "
             "would hide itself: use a directory on another filesystem (ext4, xfs, btrfs, tmpfs)");
    } else if ((dst = open(to, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
        fail(f, "copy-layer", "open", to, NULL);
        (void)rmdir(to); /* made just now: empty, unless it is no longer ours */
    } else if (copy_tree_at(src, dst, &ctx) < 0) {
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s (at %s)", from, ctx.failed);
        fail(f, "copy-layer", "copy", path, "every file of the layer must be readable");
    } else {
        copy_opaque_xattrs(src, dst);
        (void)fchown(dst, shifted(st.st_uid, &ctx), shifted(st.st_gid, &ctx));
        rc = fchmod(dst, st.st_mode & 07777) < 0 ? fail(f, "copy-layer", "fchmod", to, NULL) : 0;
    }
    if (rc < 0 && dst >= 0)
        remove_failed_copy(to, dst);
    if (dst >= 0)
        close(dst);
    close(src);
    return rc;
}
