/*
 * fdlimit.c - the serving helper's limit of open files (RLIMIT_NOFILE).
 *
 * - One helper serves every env of a JVM, so its descriptors bound how many envs can be open at
 *   once. An open env keeps none (as root its id range's lock is held by the lock keeper,
 *   lockkeeper.c, which inherits the raised limit); a running command three more (its stdout,
 *   stderr and stdin pipes).
 * - At start the soft limit goes up to the hard one (as systemd and podman do); as real root,
 *   with CAP_SYS_RESOURCE, both go up to fs.nr_open (podman gives root's containers 1048576).
 *   Commands get the limits the helper started with back right before exec (fd_limit_restore):
 *   the JVM's, as a ProcessBuilder's child would have them (HotSpot itself raises its soft limit
 *   to the hard one), never the helper's raised ones.
 * - A CREATE is refused while the helper's open fds are within FD_RESERVE of the soft limit,
 *   with a message naming the limit and the fix; the reserve keeps the envs already open
 *   working. They are counted (a scan of /proc/self/fd) only when the fd table (FDSize) is
 *   that close to the limit: below, no fd can be open above it.
 */
#include "fdlimit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "idrange.h"

static struct rlimit original;
static bool changed;

static ssize_t read_nr_open(char *buf, size_t size)
{
    int fd = open("/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return n;
}

void fd_limit_raise(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0)
        return;
    original = lim;
    char text[32] = "";
    if (real_root() && read_nr_open(text, sizeof text) > 0) {
        rlim_t nr_open = (rlim_t)strtoull(text, NULL, 10);
        struct rlimit most = { nr_open, nr_open };
        if (nr_open > lim.rlim_max && setrlimit(RLIMIT_NOFILE, &most) == 0) {
            changed = true;
            return;
        }
    }
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        changed = setrlimit(RLIMIT_NOFILE, &lim) == 0;
    }
}

void fd_limit_restore(void)
{
    if (changed)
        (void)setrlimit(RLIMIT_NOFILE, &original);
}

rlim_t command_hard_limit(int resource)
{
    struct rlimit lim;
    if (resource == RLIMIT_NOFILE && changed)
        return original.rlim_max;
    return getrlimit(resource, &lim) == 0 ? lim.rlim_max : RLIM_INFINITY;
}

/* The size of our fd table (FDSize in /proc/self/status): above every open fd; 0 unknown. */
static unsigned long fd_table_size(void)
{
    char text[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = 0;
    const char *p = strstr(text, "\nFDSize:");
    return p ? strtoul(p + 8, NULL, 10) : 0;
}

/* How many fds we have open (a scan of /proc/self/fd, less the scan's own); -1 unknown. */
static long count_open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    long n = 0;
    if (!dir)
        return -1;
    for (struct dirent *d; (d = readdir(dir));)
        n += d->d_name[0] != '.';
    closedir(dir);
    return n - 1;
}

int fd_limit_check(struct failure *f)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur == RLIM_INFINITY)
        return 0;
    /* Every open fd is below the table's size: when that is far enough from the limit there is
     * nothing to count (the common case, no scan); else count exactly. */
    unsigned long table = fd_table_size();
    if (table && table + FD_RESERVE < lim.rlim_cur)
        return 0;
    long open_fds = count_open_fds();
    if (open_fds < 0 && errno == EMFILE) /* not even one left for the scan */
        open_fds = (long)lim.rlim_cur;
    if (open_fds < 0 || (rlim_t)open_fds + FD_RESERVE < lim.rlim_cur)
        return 0;
    errno = EMFILE;
    fail(f, "clone", "open", "RLIMIT_NOFILE", NULL); /* then a hint with the counts */
    snprintf(f->hint, sizeof f->hint,
             "the helper's %llu open files reach its limit of %llu (ulimit -n) less %d kept for "
             "the environments already open: close some, or raise the JVM's limit (ulimit -n, "
             "LimitNOFILE= in a systemd unit)",
             (unsigned long long)open_fds, (unsigned long long)lim.rlim_cur, FD_RESERVE);
    return -1;
}
