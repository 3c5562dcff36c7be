/*
 * supervise.h - `enter`'s supervisor: the process inside the environment whose end means the
 * command and everything it started are gone, and `enter`'s side of it.
 */
#ifndef ISOLATED_SUPERVISE_H
#define ISOLATED_SUPERVISE_H

#include <signal.h>
#include <sys/types.h>

/* In the env (after setns, chroot, chdir), once the command is forked (cmd, our child, leader of
 * its own session) and we are a child subreaper. alive_fd: the read end of a pipe whose only
 * write end `enter` holds (EOF: `enter` is gone). result_fd: where the command's exit code (an
 * int: 128+N for signal N) is written before we exit. Never returns. */
void supervise(pid_t cmd, int alive_fd, int result_fd) __attribute__((noreturn));

/* `enter`: forwards the signals of `set` (blocked) but SIGCHLD to the supervisor (host pid),
 * reads its result, and returns the command's exit code once the supervisor is gone (reaped,
 * by us or by the env's init): 128+SIGKILL when it died without a result. */
int wait_for_supervisor(pid_t supervisor, int result_fd, const sigset_t *set);

#endif
