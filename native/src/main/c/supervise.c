/*
 * supervise.c - `enter`'s supervisor: makes `enter`'s lifetime the lifetime of what it runs.
 *
 * - `enter` (the process a java.lang.Process is) cannot itself be in the env's PID namespace, so
 *   a supervisor there is the command's parent. It is a child subreaper: whatever the command
 *   starts and orphans comes back to it, so "no child left" means "nothing left".
 * - With a PID namespace the supervisor is a child of the env's init (spawn.c double-forks it),
 *   not of `enter`: when `enter` is SIGKILLed, the supervisor must not become a zombie of the
 *   host's init (which may never reap it) but be reaped in the env. `enter` then learns its end
 *   from a result pipe (the exit code, then EOF), signals it through a pidfd (no pid reuse), and
 *   waits until it is reaped. Without one it is `enter`'s own child, reaped by `enter`.
 * - The command is the leader of its own session and process group (spawn.c: setsid).
 * - SIGTERM, SIGINT, SIGHUP, SIGQUIT (forwarded by `enter`) go to the command's process group, as
 *   a terminal sends them, and are a request to stop: once the command has exited, everything it
 *   started that is still there (in its group or not) is SIGKILLed and reaped before we exit.
 *   A command that ignores them keeps running. SIGUSR1/SIGUSR2 go to the command alone.
 * - `enter` gone (EOF on alive_fd: its last write end closes while `enter` exits, also on
 *   SIGKILL): everything is SIGKILLed and reaped at once.
 * - The command exiting by itself: we exit with its code; what it left running stays in the env
 *   (reparented to the env's init), as after any java.lang.Process.
 * - Descendants are found as our children in /proc/self/task/<tid>/children (the env's /proc);
 *   without a readable /proc only the command's process group is reached.
 * - We are non-dumpable: the command (same uid inside) cannot ptrace us or read our memory.
 */
#include "supervise.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

struct command_state {
    pid_t pid;
    int status;
    bool exited;
    bool stopping; /* a termination signal was forwarded: kill the rest once it exits */
};

static int code_of(int status)
{
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* SIGKILL to each of our children, as listed by the env's /proc. */
static void kill_children(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)gettid());
    FILE *file = fopen(path, "re");
    if (!file)
        return;
    int pid;
    while (fscanf(file, "%d", &pid) == 1)
        kill(pid, SIGKILL);
    fclose(file);
}

static void note_exit(struct command_state *c, pid_t pid, int status)
{
    if (pid == c->pid) {
        c->status = status;
        c->exited = true;
    }
}

/* Kills and reaps every descendant: until waitpid() says we have no child (a subreaper's last
 * descendant is its child), or ~10 s for one we cannot see (no /proc; it stays in the env). */
static void kill_everything(struct command_state *c)
{
    struct timespec tick = { 0, 2 * 1000 * 1000 };
    bool group_gone = false; /* an empty group's number may be reused: never signal it again */
    for (int round = 0; round < 5000; round++) {
        if (!group_gone && kill(-c->pid, SIGKILL) < 0 && errno == ESRCH)
            group_gone = true;
        if (!c->exited) /* not reaped: the pid is still the command's */
            kill(c->pid, SIGKILL);
        kill_children();
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            note_exit(c, pid, status);
        if (pid < 0 && errno == ECHILD)
            return;
        nanosleep(&tick, NULL);
    }
}

static void reap_children(struct command_state *c)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        note_exit(c, pid, status);
}

/* The process group, or the command alone before its setsid() made the group. */
static void signal_group(pid_t cmd, int sig)
{
    if (kill(-cmd, sig) < 0 && errno == ESRCH)
        kill(cmd, sig);
}

static void on_signal(struct command_state *c, int sig)
{
    if (sig == SIGCHLD) {
        reap_children(c);
    } else if (sig == SIGUSR1 || sig == SIGUSR2) {
        kill(c->pid, sig);
    } else {
        c->stopping = true;
        signal_group(c->pid, sig);
    }
}

static int signal_fd(void)
{
    sigset_t set;
    sigemptyset(&set);
    int handled[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
        sigaddset(&set, handled[i]);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_CLOEXEC);
}

void supervise(pid_t cmd, int alive_fd, int result_fd)
{
    struct command_state c = { .pid = cmd };
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    signal(SIGPIPE, SIG_IGN); /* `enter` may be gone when we report */
    int sfd = signal_fd();
    if (sfd < 0) /* cannot hear signals: at least never outlive `enter` unnoticed */
        kill_everything(&c), _exit(EXIT_SETUP_FAILED);
    struct pollfd fds[2] = { { .fd = sfd, .events = POLLIN }, { .fd = alive_fd, .events = POLLIN } };
    reap_children(&c); /* it may have exited before signalfd() existed */
    while (!c.exited) {
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            kill_everything(&c), _exit(EXIT_SETUP_FAILED);
        if (fds[1].revents) { /* `enter` is gone: nobody waits for an orderly end */
            kill_everything(&c);
            _exit(128 + SIGKILL);
        }
        struct signalfd_siginfo info;
        if ((fds[0].revents & POLLIN) && read(sfd, &info, sizeof info) == (ssize_t)sizeof info)
            on_signal(&c, (int)info.ssi_signo);
    }
    if (c.stopping) /* asked to stop, and the command is gone: the rest goes too */
        kill_everything(&c);
    int code = code_of(c.status);
    (void)write_all(result_fd, &code, sizeof code);
    _exit(code);
}

/* ---- `enter`'s side ---- */

static int pidfd_of(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* A pidfd of the supervisor, or -1 when it may have ended already (its pid could be reused). */
static int open_while_alive(pid_t pid, int result_fd)
{
    int pidfd = pidfd_of(pid);
    struct pollfd ended = { .fd = result_fd, .events = POLLIN };
    if (pidfd >= 0 && poll(&ended, 1, 0) != 0) {
        close(pidfd);
        return -1;
    }
    return pidfd;
}

/* Reaped by us (our child), or until the pidfd says it no longer exists (the env's init reaps
 * it at once; bounded at ~1 s). */
static void wait_gone(pid_t pid, int pidfd)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    struct timespec tick = { 0, 1000 * 1000 };
    for (int i = 0; pidfd >= 0 && i < 1000; i++) {
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0 && errno == ESRCH)
            break;
        nanosleep(&tick, NULL);
    }
}

int wait_for_supervisor(pid_t supervisor, int result_fd, const sigset_t *set)
{
    int pidfd = open_while_alive(supervisor, result_fd);
    int sfd = signalfd(-1, set, SFD_CLOEXEC);
    int code = 128 + SIGKILL, got;
    struct pollfd fds[2] = { { .fd = result_fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
    for (;;) {
        if (poll(fds, sfd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        struct signalfd_siginfo info;
        if (sfd >= 0 && (fds[1].revents & POLLIN) && pidfd >= 0 &&
            read(sfd, &info, sizeof info) == (ssize_t)sizeof info && info.ssi_signo != SIGCHLD)
            syscall(SYS_pidfd_send_signal, pidfd, (int)info.ssi_signo, NULL, 0);
        if (!fds[0].revents)
            continue;
        ssize_t n = read(result_fd, &got, sizeof got);
        if (n == (ssize_t)sizeof got)
            code = got;
        else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            break; /* EOF: the supervisor has exited */
    }
    wait_gone(supervisor, pidfd);
    return code;
}
