/*
 * lockkeeper.c - the id range locks of a serving root helper, held by a child of its own.
 *
 * - Every env of a root helper holds an flock on its id range's lock file (idrange.c). Kept in
 *   the helper, those fds (one per open env) were copied by every fork (dup_fd) and closed again
 *   by every child (close_range: locks_remove_posix, dnotify_flush per fd) and at its exit: each
 *   command cost O(envs open). The keeper holds them instead; the helper's fd table stays small.
 * - Forked by serve before any env exists, so it holds nothing else: /dev/null on 0..2, its end of
 *   a SOCK_SEQPACKET pair on 3. The helper sends it each lock fd (SCM_RIGHTS) with the base and
 *   closes its own copy only once the keeper answered that it holds it (a keeper at its limit of
 *   open files gets no fd: MSG_CTRUNC, answered 'n', and the helper keeps the lock itself); the
 *   base alone releases it (the keeper closes it; no answer).
 * - It dies with the helper (PR_SET_PDEATHSIG SIGKILL, and EOF on its socket), and the kernel then
 *   drops the locks: as before, a range is free again once its helper is gone (its envs die with it).
 * - A keeper that died leaves the helper holding its new locks itself (sending fails); the locks
 *   it held are dropped then, so the helper does not go on without it: every later CREATE keeps its
 *   own lock (lock_keeper_take() false), and nothing else changes.
 */
#include "lockkeeper.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "idrange.h"
#include "util.h"

static int keeper_fd = -1;
static pid_t keeper_pid = -1;

static NORETURN void keep_locks(int sock)
{
    static int held[ID_POOL_RANGES];
    for (unsigned i = 0; i < ID_POOL_RANGES; i++)
        held[i] = -1;
    for (;;) {
        unsigned base = 0;
        char control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { .iov_base = &base, .iov_len = sizeof base };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                              .msg_controllen = sizeof control };
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof base)
            _exit(0); /* EOF: the helper is gone */
        int fd = -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
        bool take = (msg.msg_flags & MSG_CTRUNC) || fd >= 0; /* else a release */
        unsigned slot = (base - ID_POOL_START) / ID_RANGE_SIZE;
        bool valid = base >= ID_POOL_START && slot < ID_POOL_RANGES;
        if (valid && held[slot] >= 0 && (!take || fd >= 0)) {
            close(held[slot]);
            held[slot] = -1;
        }
        if (valid && fd >= 0)
            held[slot] = fd;
        else if (fd >= 0)
            close(fd);
        char answer = valid && fd >= 0 ? 'k' : 'n';
        if (take && write(sock, &answer, 1) < 0 && errno != EINTR)
            _exit(0);
    }
}

bool lock_keeper_start(void)
{
    int pair[2];
    pid_t parent = getpid();
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != parent)
            _exit(0);
        set_process_name("isolated-locks"); /* not mistaken for a helper in `ps` */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        int null_fd = open("/dev/null", O_RDWR);
        if (null_fd < 0 || dup2(pair[1], 3) != 3)
            _exit(1);
        for (int fd = 0; fd < 3; fd++)
            if (dup2(null_fd, fd) < 0)
                _exit(1);
        close_fds_above(4, -1);
        reset_all_signals();
        keep_locks(3);
    }
    close(pair[1]);
    if (pid < 0) {
        close(pair[0]);
        return false;
    }
    keeper_fd = pair[0];
    keeper_pid = pid;
    return true;
}

bool lock_keeper_take(int lock_fd, unsigned base)
{
    if (keeper_fd < 0)
        return false;
    char answer = 0;
    ssize_t n = send_with_control(keeper_fd, &base, sizeof base, SCM_RIGHTS, &lock_fd, sizeof lock_fd);
    while (n == (ssize_t)sizeof base && (n = read(keeper_fd, &answer, 1)) < 0 && errno == EINTR)
        n = sizeof base;
    if (n == 1)
        return answer == 'k'; /* 'n': it could not take it (its open files): we keep it */
    close(keeper_fd); /* the keeper is gone: its locks with it; we hold ours from now on */
    keeper_fd = -1;
    return false;
}

void lock_keeper_release(unsigned base)
{
    while (keeper_fd >= 0 && send(keeper_fd, &base, sizeof base, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

void lock_keeper_stop(void)
{
    if (keeper_fd >= 0)
        close(keeper_fd); /* EOF: it closes what it holds and exits */
    keeper_fd = -1;
    while (keeper_pid > 0 && waitpid(keeper_pid, NULL, 0) < 0 && errno == EINTR)
        ;
    keeper_pid = -1;
}
