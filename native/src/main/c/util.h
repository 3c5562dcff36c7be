/*
 * util.h - the helper's one error path and small system helpers.
 *
 * - Every setup failure is a `struct failure` {stage, syscall, path, errno, hint}.
 * - Code that may continue (the resident server) records it with fail() and returns -1.
 * - Code that must stop calls die()/die_with(): in a forked child the failure goes, as one
 *   atomic write, to the CLOEXEC pipe set with set_failure_sink() and the child _exit()s;
 *   in the command line it is printed as `isolated-helper: <stage>: <syscall> <path>: <strerror>`
 *   plus a `hint:` line, and the helper exits 125.
 */
#ifndef ISOLATED_UTIL_H
#define ISOLATED_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NORETURN __attribute__((noreturn))
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))

enum { EXIT_SETUP_FAILED = 125, EXIT_CANNOT_EXEC = 126, EXIT_NOT_FOUND = 127 };

struct failure {
    char stage[24];
    char syscall[24];
    char path[512];
    char hint[1024]; /* a step's hint names paths (a bind's source and target) and may add a note */
    int err;
    int signal;    /* stage exec: the signal that killed the command's process before it could exec, else 0 */
    bool oom;      /* that signal was the OOM killer's (serve: the env cgroup's oom_kill counter went up) */
    bool settings; /* the request's settings contradict each other: kind=test at any stage */
};

/* For an ENOENT of a host path as root: the helper's own mount namespace (a slave of the host's, made at
 * start) receives no mount made later under a private one; "" when not root (no such namespace). */
const char *mounted_later_note(void);
/* Saves errno, fills *f and returns -1. A NULL hint_fmt picks a default hint for (stage, errno). */
int fail(struct failure *f, const char *stage, const char *syscall, const char *path,
         const char *hint_fmt, ...) PRINTF_LIKE(5, 6);

/* From now on die*() write the failure to fd and _exit() (used in forked children). */
int set_failure_sink(int fd); /* returns the previous one */
NORETURN void die_with(const struct failure *f, int exit_code);
NORETURN void die(const char *stage, const char *syscall, const char *path,
                  const char *hint_fmt, ...) PRINTF_LIKE(4, 5);
void print_failure(const struct failure *f);
/* `SYSCALL PATH: strerror` (or `PATH: killed by signal N (SIGX) before it could exec`), as ERROR's message= says. */
void failure_message(const struct failure *f, char *buf, size_t size);
const char *errno_name(int err);

/* Tagged messages on a status pipe: one atomic write each (sizeof < PIPE_BUF). */
struct status_msg {
    char tag; /* 'p' pid, 'r' ready, 'e' failure, 'c' the pid of a command just cloned (by whoever cloned it) */
    int value;
    struct failure failure;
};
_Static_assert(sizeof(struct status_msg) < 4096, "a status message is one atomic pipe write (PIPE_BUF)");
void send_status(int fd, char tag, int value);
/* Reads one message; returns 1, 0 on EOF, -1 on error. */
int read_status(int fd, struct status_msg *msg);
/* On an AF_UNIX socket: announces the calling process, whose pid the kernel translates into
 * the receiver's PID namespace (SCM_CREDENTIALS); recv_status() returns it in *sender. */
void announce_self(int fd, char tag);
/* sendmsg() of DATA with one SOL_SOCKET control message of TYPE (SCM_RIGHTS, SCM_CREDENTIALS) holding
 * SIZE (at most CONTROL_MAX) bytes of PAYLOAD; retried on EINTR, never SIGPIPE. */
#define CONTROL_MAX 64
ssize_t send_with_control(int fd, const void *data, size_t len, int type, const void *payload, size_t size);
/* recvmsg() of up to LEN bytes into DATA, retried on EINTR, fds received close-on-exec; the payload of its
 * SOL_SOCKET control message of TYPE goes to PAYLOAD (at most SIZE bytes: received fds beyond them are closed)
 * and its whole length to *GOT (0 without one). Returns what recvmsg() did. */
ssize_t recv_with_control(int fd, void *data, size_t len, int type, void *payload, size_t size, size_t *got);
int recv_status(int fd, struct status_msg *msg, pid_t *sender);

int write_all(int fd, const void *buf, size_t len);
ssize_t read_all(int fd, void *buf, size_t len);
int write_file(const char *path, const char *text);
/* out = dir/name; -1 with ENAMETOOLONG when it does not fit. */
int join_path(char *out, size_t size, const char *dir, const char *name);
/* The size of a buffer for DIR/NAME, for a variable-length array sized to the path rather than
 * PATH_MAX: an env's init runs on a stack it shares copy-on-write with the helper, and every page
 * of it that a deep PATH_MAX frame spreads the writes over is a page fault and a copy. */
#define JOINED_SIZE(dir, name) (strlen(dir) + strlen(name) + 2)
int make_dirs(const char *path, mode_t mode);
/* The whole of text as a number in base 10 or 8, within [min, max]: one or more digits, a '-'
 * first only when min < 0; no blanks, no '+', nothing after (strtoll alone takes " 12", "+12"
 * and the 12 of "12x", and strtoul turns "-1" into its largest value). -1 with errno EINVAL
 * otherwise. */
int parse_integer(const char *text, int base, long long min, long long max, long long *out);
int remove_tree(const char *path);

void *xmalloc(size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* CLOCK_MONOTONIC in milliseconds. */
long long now_ms(void);

void close_fds_above(int lowest, int keep);
/* At start-up: every disposition SIG_DFL, nothing blocked. */
void reset_all_signals(void);
/* SIG_IGN, remembered so that reset_signal_state() undoes it. */
void ignore_signal(int sig);
/* In a child about to exec: undoes ignore_signal()s, unblocks everything. */
void reset_signal_state(void);
void ensure_std_fds(void);

#endif
