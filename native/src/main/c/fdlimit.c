/*
 * fdlimit.c - the serving helper's limit of open files (RLIMIT_NOFILE).
 *
 * - One helper serves every env of a JVM, so its descriptors bound how many envs can be open at
 *   once. An open env keeps one (its init's pidfd; as root also its id range's lock, idrange.c);
 *   a running command three more (its stdout, stderr and stdin pipes).
 * - At start the soft limit goes up to the hard one (as systemd and podman do); as real root,
 *   with CAP_SYS_RESOURCE, both go up to fs.nr_open (podman gives root's containers 1048576).
 *   Commands get the limits the helper started with back right before exec (fd_limit_restore):
 *   the JVM's, as a ProcessBuilder's child would have them (HotSpot itself raises its soft limit
 *   to the hard one), never the helper's raised ones.
 * - A CREATE is refused while the lowest free descriptor is within FD_RESERVE of the soft limit
 *   (fds are handed out lowest first, so this is how full the table is), with a message naming
 *   the limit and the fix; the reserve keeps the envs already open working.
 */
#include "fdlimit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

int fd_limit_check(int probe_fd, struct failure *f)
{
    struct rlimit lim;
    int lowest = fcntl(probe_fd, F_DUPFD_CLOEXEC, 0);
    if (lowest >= 0)
        close(lowest);
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur == RLIM_INFINITY)
        return 0;
    if (lowest >= 0 && (rlim_t)lowest + FD_RESERVE < lim.rlim_cur)
        return 0;
    errno = EMFILE;
    return fail(f, "clone", "open", "RLIMIT_NOFILE",
                "the helper's %llu open files reach its limit of %llu (ulimit -n) less %d kept for "
                "the environments already open: close some, or raise the JVM's limit (ulimit -n, "
                "LimitNOFILE= in a systemd unit)",
                (unsigned long long)(lowest >= 0 ? (rlim_t)lowest : lim.rlim_cur),
                (unsigned long long)lim.rlim_cur, FD_RESERVE);
}
