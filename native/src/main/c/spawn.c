/*
 * spawn.c - running a command in an environment.
 *
 * - Direct (a ready env of serve or run, no pid1, not supervised): no intermediate. We set our
 *   PID namespace *for children* to the env's (setns(pidfd of the init, CLONE_NEWPID): it
 *   changes only where our next child is born, never our own), start the command (CLONE_VM|
 *   CLONE_VFORK, see start_direct(): nothing of ours copied), and set it back
 *   to our own at once: the command is our direct child and already in the env's PID namespace,
 *   and joins the others itself through that pidfd (setns(pidfd, flags) moves the caller for all
 *   but pid; the init's host pid means nothing in the env's PID ns) as the intermediate does. One process created per command instead of two. A helper without
 *   CAP_SYS_ADMIN in its own user namespace (rootless: EPERM), or without it over its own PID
 *   namespace (root in a user namespace only: `unshare -Ur`), takes the intermediate's way; failing
 *   to set our PID namespace back is fatal (every later env's init would be born in that env).
 * - Otherwise an intermediate child setns()es into the env (user first, always, then the others; a root
 *   helper's child then becomes 0 inside, the env's range, see usermap.c) and, with the
 *   mount namespace, into the env's root (fchdir + chroot), then chdir()s to the cwd.
 * - It creates the command with clone(CLONE_PARENT), so the command is a direct child of the
 *   helper (which reaps it and sees its real status), and exits. setns(pid) only applies to
 *   children, hence the extra process.
 * - The status channel is a CLOEXEC AF_UNIX SOCK_SEQPACKET pair: the command announces itself
 *   with SCM_CREDENTIALS, so the kernel translates its pid into the helper's PID namespace.
 * - pid1: CLONE_NEWPID is refused (EINVAL) by a process whose children's PID namespace differs
 *   from its own, i.e. right after setns(pid). So a second CLONE_PARENT child, already in the
 *   env's PID namespace, clones the command with CLONE_NEWPID|CLONE_NEWNS: the command is still
 *   the helper's direct child, and PID 1 of a namespace nested in the env's.
 * - With a cgroup, the intermediate first writes "0" to the env's cgroup.procs fds (opened
 *   by the helper; for `enter` those of the target's cgroups, see cgroup_attach()): it and so
 *   the command start inside the env's cgroup, no handshake needed.
 * - supervised (`enter`): that child is instead a supervisor (supervise.c), a subreaper that
 *   forks the command and exits only once it (and, when asked to stop or when `enter` is gone,
 *   everything it started) is gone. It holds the read end of a pipe whose write end only the
 *   caller has: its EOF is the caller's death, even by SIGKILL.
 * - The command calls setsid(): a session and process group of its own, no controlling
 *   terminal (the host's cannot be reached through /dev/tty or TIOCSTI).
 * - Right before execve the command applies its exec_policy (harden.c: ids, umask, rlimits,
 *   keyring, caps, no_new_privs, seccomp), without the capabilities that the env's mount or
 *   network namespace, when it has none or the command does not join it, would leave exposed.
 * - The command resets signals, closes every fd above 2, and execs with an explicit envp,
 *   searching argv[0] in the *env's* PATH. A failed exec writes a struct failure (stage
 *   `exec`) on the status socket; EOF without one means the exec succeeded.
 * - Whoever clones the command but us (the intermediate, the zygote) then sends its pid ('c'): a
 *   command killed before it announced itself (kill -1 in the env, the OOM killer) is reaped here
 *   and reported with its signal (struct failure's signal), as is the direct way's (our child).
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdlimit.h"
#include "mounts.h"
#include "supervise.h"
#include "zygote.h"

/* fork() whose child is our parent's child (with optional namespace flags). */
static pid_t clone_sibling(unsigned long ns_flags)
{
    return (pid_t)syscall(SYS_clone, CLONE_PARENT | ns_flags | SIGCHLD, 0, NULL, NULL, 0);
}

static void join_namespaces(const struct env *env, unsigned join)
{
    const char *what = "";
    if (env_join(env, join, &what) < 0)
        die("setns", "setns", what, NULL);
}

/* A cwd that cannot be entered is stage `cwd` (exit 125), never `exec`: a missing directory
 * must not read as a missing program (127). */
void enter_cwd(const char *dir)
{
    if (chdir(dir) < 0) {
        int err = errno;
        const char *why = err == ENOENT ? " does not exist in the environment"
                        : err == ENOTDIR ? " is not a directory" : ": ";
        errno = err;
        die("cwd", "chdir", dir, "working directory %s%s%s", dir, why,
            err == ENOENT || err == ENOTDIR ? "" : strerror(err));
    }
    /* A cwd outside the new root (e.g. through a leaked fd) reads as "(unreachable)/..."
     * (CVE-2024-21626); refuse to run the command there. */
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd) || cwd[0] != '/')
        die("cwd", "getcwd", dir, "working directory %s is outside the environment", dir);
}

void enter_env_root(const struct spawn_spec *spec)
{
    const struct env *env = spec->env;
    bool has_mount = env->ns & NS_BIT(NS_MOUNT);
    if (env->root_fd >= 0 && (!has_mount || (spec->join & NS_BIT(NS_MOUNT)))) {
        if (fchdir(env->root_fd) < 0 || chroot(".") < 0)
            die("setns", "chroot", "/proc/PID/root", NULL);
    }
    enter_cwd(spec->cwd);
}

static const char *env_path(char *const *envp)
{
    for (; *envp; envp++)
        if (strncmp(*envp, "PATH=", 5) == 0)
            return *envp + 5;
    return DEFAULT_PATH;
}

/* execvpe(), but with the PATH of the given envp (not ours) and without a shell fallback. */
static void exec_in_path(char *const *argv, char *const *envp)
{
    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, envp);
        return;
    }
    int result = ENOENT;
    const char *path = env_path(envp);
    while (*path) {
        const char *end = strchrnul(path, ':');
        char candidate[PATH_MAX];
        if (end > path) {
            snprintf(candidate, sizeof candidate, "%.*s/%s", (int)(end - path), path, argv[0]);
            execve(candidate, argv, envp);
            if (errno == EACCES)
                result = EACCES;
            else if (errno != ENOENT && errno != ENOTDIR)
                return;
        }
        path = *end ? end + 1 : end;
    }
    errno = result;
}

NORETURN void exec_command(const struct spawn_spec *spec, int status_fd, bool announce)
{
    /* Our pid as the helper sees it: we may be in another PID namespace than the one that
     * cloned us, and clone() returned our pid in *that* namespace. */
    if (announce)
        announce_self(status_fd, 'p');
    /* The helper (or the supervisor) is this process's parent: die with it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* A session of its own: no controlling terminal, so nothing inside can reach the host's
     * (TIOCSTI, /dev/tty); and one process group that the supervisor can signal. */
    setsid();
    if (spec->pid1) {
        struct failure f;
        if (make_root_private(&f) < 0 || mount_proc("/", true, &f) < 0)
            die_with(&f, EXIT_SETUP_FAILED);
    }
    for (int fd = 0; fd < 3; fd++)
        if (spec->stdio[fd] != fd && dup2(spec->stdio[fd], fd) < 0)
            die("exec", "dup2", "", NULL);
    reset_signal_state();
    close_fds_above(3, status_fd);
    fd_limit_restore(); /* the JVM's limits, then the env's rlimits (apply_exec_policy) */
    struct exec_policy policy = spec->policy;
    unsigned joined = spec->join & spec->env->ns;
    policy.caps_removed |= caps_exposed_without(joined & NS_BIT(NS_MOUNT), joined & NS_BIT(NS_NET));
    if (spec->in_zygote)
        apply_command_ids(&policy); /* the rest is the zygote's, inherited */
    else
        apply_exec_policy(&policy);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0); /* again: a uid/gid change cleared it */
    exec_in_path(spec->argv, spec->envp);
    int err = errno;
    struct failure f;
    fail(&f, "exec", "execve", spec->argv[0], NULL);
    die_with(&f, err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* The supervisor: a subreaper before the command exists, so nothing the command starts can get
 * past it; it keeps only pipes[0] (alive, read end) and pipes[1] (result, write end). */
static NORETURN void run_supervisor(const struct spawn_spec *spec, int status_fd, const int pipes[2])
{
    announce_self(status_fd, 'p');
    setsid(); /* out of the caller's session too: no terminal of the host in the env at all */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        die("exec", "prctl", "PR_SET_CHILD_SUBREAPER", NULL);
    pid_t cmd = fork();
    if (cmd == 0)
        exec_command(spec, status_fd, false);
    if (cmd < 0)
        die("exec", "fork", "", NULL);
    if (dup2(pipes[0], 0) < 0 || dup2(pipes[1], 1) < 0) /* both above 2: nothing clobbered */
        _exit(EXIT_SETUP_FAILED);
    close_fds_above(2, -1); /* stdio, the status socket, the env's fds */
    /* Not `enter`'s command line (the host path of this binary, its options) in the env's ps; only
     * now: the command's spec may live in that argv area, and it is forked. */
    set_process_name("isolated-helper");
    supervise(cmd, 0, 1);
}

/* With the env's PID namespace the supervisor is a grandchild whose parent exits at once: it is
 * the env init's child then, reaped there even when `enter` died (see supervise.c). */
static NORETURN void start_supervisor(const struct spawn_spec *spec, int status_fd, const int pipes[2])
{
    bool own_pid_ns = (spec->join & NS_BIT(NS_PID)) && env_has_ns(spec->env, NS_PID);
    pid_t child = own_pid_ns ? fork() : clone_sibling(0);
    if (child == 0 && own_pid_ns) {
        pid_t supervisor = fork();
        if (supervisor == 0)
            run_supervisor(spec, status_fd, pipes);
        _exit(supervisor < 0 ? EXIT_SETUP_FAILED : 0);
    }
    if (child == 0)
        run_supervisor(spec, status_fd, pipes);
    if (child < 0)
        die("exec", "fork", "", NULL);
    if (!own_pid_ns)
        send_status(status_fd, 'c', child);
    int status = 0;
    while (own_pid_ns && waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (status != 0) {
        errno = EAGAIN;
        die("exec", "fork", "", "the supervisor could not be started");
    }
    _exit(0);
}

/* The direct way's command: what run_intermediate() does before it clones, then exec. */
static NORETURN void run_direct(const struct spawn_spec *spec, int status_fd, int init_pidfd)
{
    set_failure_sink(status_fd);
    struct failure f;
    if (cgroup_enter(&spec->env->cg, 0, &f) < 0) /* a no-op without a cgroup */
        die_with(&f, EXIT_SETUP_FAILED);
    bool root = real_root();
    const char *what = "";
    /* The pidfd was opened before the fork: the init's host pid means nothing in its PID ns. */
    if (env_join_pidfd(spec->env, init_pidfd, (spec->join | NS_BIT(NS_USER)) & ~NS_BIT(NS_PID), &what) < 0)
        die("setns", "setns", what, NULL); /* pid: joined by the fork */
    if (root && env_has_ns(spec->env, NS_USER) && take_root_ids() < 0)
        die("user", "setresuid", "uid 0", "the environment's user namespace maps no root");
    enter_env_root(spec);
    exec_command(spec, status_fd, true);
}

/* Our own PID namespace (opened once, O_CLOEXEC; every command closes it with the rest). */
static int own_pid_ns(void)
{
    static int fd = -1;
    if (fd < 0)
        fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    return fd;
}

/* Whether we could set our PID namespace for children back after an env's: that takes CAP_SYS_ADMIN
 * over our own PID namespace's user namespace, which a helper that is root only in a user namespace
 * of its own, in its parent's PID namespace (`unshare -Ur`, `podman unshare`), lacks while it can
 * still enter its envs'. Tried once, with our own namespace itself (a no-op when allowed). */
static bool can_return_to_own_pid_ns(void)
{
    static int known = -1;
    if (known < 0)
        known = own_pid_ns() >= 0 && setns(own_pid_ns(), CLONE_NEWPID) == 0;
    return known;
}

/* The direct way's command shares our memory until it execs (CLONE_VM|CLONE_VFORK, as posix_spawn
 * does): no page tables copied, no copy-on-write faults here, none torn down at its exec, so a
 * command costs the same however many envs we hold. It runs on a stack of its own (mapped once,
 * with a guard page; we are suspended until it execs or exits, so one is enough) and must not
 * touch our memory but for what is restored below: the failure sink (set_failure_sink()),
 * errno, and the dumpable flag, which it clears first on the shared mm (so that the env's
 * processes cannot trace it, and so us, until it execs, even when its euid does not change). Joining a time
 * namespace needs a process whose memory nobody shares (setns: EUSERS): then it is a plain
 * fork on that stack. */
#define DIRECT_STACK_SIZE (256 * 1024)

struct direct_args {
    const struct spawn_spec *spec;
    int status_fd, other_fd, init_pidfd;
};

/* The sanitized build (build.sh sanitized) is told of the switch to the command's stack, as of a
 * fiber's; without it ASan takes that stack for the main one (a warning, then false reports) and
 * keeps the poison the last command's frames left there. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SWITCHING_TO(fake, bottom, size) __sanitizer_start_switch_fiber(fake, bottom, size)
#define SWITCHED(fake, bottom, size) __sanitizer_finish_switch_fiber(fake, bottom, size)
#define UNPOISON(bottom, size) __asan_unpoison_memory_region(bottom, size)
#else
#define SWITCHING_TO(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#define SWITCHED(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#define UNPOISON(bottom, size) ((void)(bottom), (void)(size))
#endif

static int direct_child(void *arg)
{
    struct direct_args *a = arg;
    /* Non-dumpable before anything joins the env: a change of euid would clear it, but a rootless
     * helper's command keeps its kuid (the env's root is our own uid), and until its exec it shares
     * our memory; tracing it (or reading /proc/PID/mem) now needs CAP_SYS_PTRACE over our user
     * namespace, which no process of an env has. start_direct() restores our flag after. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    close(a->other_fd);
    run_direct(a->spec, a->status_fd, a->init_pidfd);
}

static char *direct_stack_top(void)
{
    static char *stack;
    if (!stack) {
        long page = sysconf(_SC_PAGESIZE);
        char *mapped = mmap(NULL, DIRECT_STACK_SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (mapped == MAP_FAILED)
            return NULL;
        if (mprotect(mapped, (size_t)page, PROT_NONE) < 0) { /* the guard page */
            munmap(mapped, DIRECT_STACK_SIZE);
            return NULL;
        }
        stack = mapped;
    }
    return stack + DIRECT_STACK_SIZE;
}

struct stack_call {
    int (*fn)(void *);
    void *arg;
    const void *our_stack; /* ASan builds: our stack's bounds, as the child found them */
    size_t our_stack_size;
};

static int on_spare_stack(void *arg)
{
    struct stack_call *call = arg;
    SWITCHED(NULL, &call->our_stack, &call->our_stack_size);
    return call->fn(call->arg);
}

pid_t clone_on_spare_stack(int (*fn)(void *), void *arg, int flags)
{
    char *stack = direct_stack_top();
    if (!stack)
        return -1;
    struct stack_call call = { fn, arg, NULL, 0 };
    void *fake_stack = NULL;
    SWITCHING_TO(&fake_stack, stack - DIRECT_STACK_SIZE, DIRECT_STACK_SIZE);
    pid_t pid = clone(on_spare_stack, stack, flags, &call);
    int err = errno; /* the child's own errno, when it ran in our memory: ours only when clone() failed */
    if (pid < 0 || !(flags & CLONE_VM)) /* the child did not switch in our memory: as if it had */
        SWITCHED(NULL, &call.our_stack, &call.our_stack_size);
    SWITCHING_TO(NULL, call.our_stack, call.our_stack_size); /* back: that stack is free again */
    SWITCHED(fake_stack, NULL, NULL);
    UNPOISON(stack - DIRECT_STACK_SIZE, DIRECT_STACK_SIZE);
    errno = err;
    return pid;
}

/* Starts the direct way's command (see above): its pid, -1 with errno when the clone failed, -2
 * when our PID namespace for children could not be set (rootless: EPERM): nothing was started,
 * the intermediate's way remains. The command closes other_fd (our end of its status socket). */
static pid_t start_direct(const struct spawn_spec *spec, int status_fd, int other_fd)
{
    bool join_pid = (spec->join & NS_BIT(NS_PID)) && env_has_ns(spec->env, NS_PID);
    struct direct_args args = { spec, status_fd, other_fd, -1 };
    if (!direct_stack_top() || (args.init_pidfd = (int)syscall(SYS_pidfd_open, spec->env->pid, 0)) < 0)
        return -2;
    if (join_pid && (!can_return_to_own_pid_ns() || setns(args.init_pidfd, CLONE_NEWPID) < 0)) {
        close(args.init_pidfd);
        return -2;
    }
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    int sink = set_failure_sink(-1);
    bool own_memory = (spec->join & NS_BIT(NS_TIME)) && env_has_ns(spec->env, NS_TIME);
    int flags = own_memory ? SIGCHLD : CLONE_VM | CLONE_VFORK | SIGCHLD;
    pid_t pid = clone_on_spare_stack(direct_child, &args, flags);
    int err = errno; /* the command's own errno, when it ran: ours only when clone() failed */
    set_failure_sink(sink);
    prctl(PR_SET_DUMPABLE, dumpable > 0 ? dumpable : 0, 0, 0, 0);
    close(args.init_pidfd);
    if (join_pid && setns(own_pid_ns(), CLONE_NEWPID) < 0) {
        /* Never serve on with our children born in an env: the inits die with us. */
        fprintf(stderr, "isolated-helper: cannot return to our own PID namespace (%s): exiting\n",
                strerror(errno));
        if (pid > 0)
            kill(pid, SIGKILL);
        _exit(EXIT_SETUP_FAILED);
    }
    errno = err;
    return pid;
}

/* With ZYGOTE_SOCK >= 0 (serve asked for spec->become_zygote, see zygote.c): once the command is
 * cloned, we stay as the env's zygote, which tells the helper ('z') and then closes STATUS_FD; we
 * then stay out of the env's cgroup, which the command enters itself. */
static NORETURN void run_intermediate(const struct spawn_spec *spec, int status_fd, const int pipes[2],
                                      pid_t helper, int zygote_sock)
{
    set_failure_sink(status_fd);
    struct failure f;
    struct zygote_kept kept;
    if (zygote_sock >= 0 && zygote_prepare(spec->env, helper, &kept) < 0) {
        close(zygote_sock);
        zygote_sock = -1;
    }
    if (zygote_sock < 0 && cgroup_enter(&spec->env->cg, 0, &f) < 0) /* a no-op without a cgroup */
        die_with(&f, EXIT_SETUP_FAILED);
    bool root = real_root();
    /* Always the user namespace: as root the command then takes the env's root (its range),
     * never staying host root in the env's other namespaces. */
    join_namespaces(spec->env, spec->join | NS_BIT(NS_USER));
    if (root && env_has_ns(spec->env, NS_USER) && take_root_ids() < 0)
        die("user", "setresuid", "uid 0", "the environment's user namespace maps no root");
    enter_env_root(spec);
    if (spec->pid1) {
        pid_t inner = clone_sibling(0);
        if (inner == 0) {
            announce_self(status_fd, 'h');
            pid_t cmd = clone_sibling(CLONE_NEWPID | CLONE_NEWNS);
            if (cmd == 0)
                exec_command(spec, status_fd, true);
            if (cmd < 0)
                die("exec", "clone", "CLONE_NEWPID", NULL);
            _exit(0);
        }
        if (inner < 0)
            die("exec", "clone", "CLONE_PARENT", NULL);
        _exit(0);
    }
    if (pipes[0] >= 0)
        start_supervisor(spec, status_fd, pipes);
    pid_t cmd = clone_sibling(0);
    if (cmd == 0 && zygote_sock >= 0) {
        announce_self(status_fd, 'p');
        if (cgroup_enter(&kept.env.cg, 0, &f) < 0)
            die_with(&f, EXIT_SETUP_FAILED);
        exec_command(spec, status_fd, false);
    }
    if (cmd == 0)
        exec_command(spec, status_fd, true);
    if (cmd < 0)
        die("exec", "clone", "CLONE_PARENT", NULL);
    send_status(status_fd, 'c', cmd); /* killed before it announces itself, it is still known */
    if (zygote_sock < 0)
        _exit(0);
    send_status(status_fd, 'z', 0);
    close(status_fd);
    zygote_become(&kept, zygote_sock);
}

/* Its wait status (0 for no process). */
static int reap(pid_t pid)
{
    int status = 0;
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    return status;
}

/* The wait status of a command cloned by another process that did not announce itself (EOF came first):
 * it is exiting (its status socket closed), killed by then; SIGKILL changes nothing of that, and keeps us
 * from waiting for a command whose announcement was lost, which would run on, untracked. */
static int reap_unannounced(pid_t pid)
{
    kill(pid, SIGKILL);
    return reap(pid);
}

/* The command's process ended before it announced itself, with no failure of its own: killed (kill -1 in
 * the env, the OOM killer), as STATUS says (0: unknown), or that of the process that was to clone it. */
static int died_before_exec(const struct spawn_spec *spec, int status, struct failure *f)
{
    if (!WIFSIGNALED(status)) {
        errno = ECHILD;
        return fail(f, "exec", "clone", "", "the command's process ended before it could exec");
    }
    errno = 0;
    fail(f, "exec", "", spec->argv[0],
         "something, such as kill -1 run in the environment or the OOM killer, killed the command's process");
    f->signal = WTERMSIG(status);
    return -1;
}

/* The zygote's way: it clones the command (our child, CLONE_PARENT) which announces itself on
 * the status socket as the other ways' do; a zygote that dies before that started nothing. */
static int spawn_by_zygote(const struct spawn_spec *spec, const int status[2], struct spawned *out,
                           struct failure *f)
{
    int sent = zygote_send(spec->zygote, spec, status[1]);
    close(status[1]);
    /* Woken once, when the command execs or exits (the last writer gone): its messages wait in
     * the queue meanwhile, and a wake-up per message costs a switch between CPUs here. */
    struct pollfd hangup = { .fd = status[0], .events = 0 };
    while (sent == 0 && poll(&hangup, 1, -1) < 0 && errno == EINTR)
        ;
    pid_t cmd = -1, nspid = -1, cloned = -1;
    bool failed = false;
    struct status_msg msg;
    pid_t sender;
    while (sent == 0 && recv_status(status[0], &msg, &sender) == 1) {
        if (msg.tag == 'p') {
            cmd = sender;
            nspid = msg.value;
        } else if (msg.tag == 'c') {
            cloned = msg.value; /* the zygote's, once the command exec'd or died */
        } else if (msg.tag == 'e' && !failed) {
            *f = msg.failure;
            failed = true;
        }
    }
    close(status[0]);
    out->result_fd = -1;
    if (failed) {
        reap(cmd); /* it exits 125/126/127 right after reporting */
        return -1;
    }
    if (sent < 0 || (cmd <= 0 && cloned <= 0))
        return SPAWN_ZYGOTE_GONE;
    if (cmd <= 0) /* the zygote lives on: the command was killed, never to be started again */
        return died_before_exec(spec, reap_unannounced(cloned), f);
    out->pid = cmd;
    out->nspid = nspid;
    return 0;
}

int spawn_in_env(const struct spawn_spec *spec, struct spawned *out, struct failure *f)
{
    int status[2], on = 1, alive[2] = { -1, -1 }, result[2] = { -1, -1 };
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, status) < 0 ||
        setsockopt(status[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0)
        return fail(f, "exec", "socketpair", "", NULL);
    if (spec->supervised && !spec->pid1 &&
        (pipe2(alive, O_CLOEXEC) < 0 || pipe2(result, O_CLOEXEC) < 0)) {
        fail(f, "exec", "pipe2", "", NULL);
        close(status[0]);
        close(status[1]);
        return -1;
    }
    if (spec->zygote)
        return spawn_by_zygote(spec, status, out, f);
    bool direct = spec->env->by_pid && !spec->pid1 && !spec->supervised;
    pid_t mid = direct ? start_direct(spec, status[1], status[0]) : -2;
    direct = mid != -2;
    int zygote[2] = { -1, -1 };
    if (!direct && spec->become_zygote && !spec->pid1 && !spec->supervised &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, zygote) < 0)
        zygote[0] = zygote[1] = -1; /* this command then goes without making one */
    pid_t helper = getpid();
    if (!direct)
        mid = fork();
    if (mid == 0) {
        close(status[0]);
        if (alive[1] >= 0) {
            close(alive[1]);
            close(result[0]);
        }
        if (zygote[0] >= 0)
            close(zygote[0]);
        int pipes[2] = { alive[0], result[1] };
        run_intermediate(spec, status[1], pipes, helper, zygote[1]);
    }
    if (zygote[1] >= 0)
        close(zygote[1]);
    close(status[1]);
    if (alive[0] >= 0) {
        close(alive[0]); /* alive[1] stays open until we exit: see spawn.h */
        close(result[1]);
    }
    out->result_fd = result[0];
    if (mid < 0) {
        close(status[0]);
        if (zygote[0] >= 0)
            close(zygote[0]);
        return fail(f, "exec", "fork", "", NULL);
    }
    pid_t cmd = -1, inner = -1, nspid = -1, cloned = -1;
    bool failed = false, became_zygote = false;
    struct status_msg msg;
    pid_t sender;
    while (recv_status(status[0], &msg, &sender) == 1) {
        if (msg.tag == 'p') {
            cmd = sender;
            nspid = msg.value; /* its getpid(): its pid in its own (innermost) PID namespace */
        }
        else if (msg.tag == 'h')
            inner = sender;
        else if (msg.tag == 'z')
            became_zygote = true;
        else if (msg.tag == 'c')
            cloned = msg.value;
        else if (msg.tag == 'e' && !failed) {
            *f = msg.failure;
            failed = true;
        }
    }
    close(status[0]);
    if (became_zygote) {
        spec->become_zygote->pid = mid;
        spec->become_zygote->fd = zygote[0];
    } else if (zygote[0] >= 0) {
        close(zygote[0]);
    }
    int ended = 0; /* the first wait status of a process that was killed before the command announced itself */
    if ((!direct && !became_zygote) || (direct && (failed || cmd <= 0)))
        ended = reap(mid); /* direct: the command itself, which exits 125/126/127 right after reporting */
    if (direct && failed)
        cmd = -1;
    int inner_status = reap(inner);
    ended = WIFSIGNALED(ended) ? ended : inner_status;
    if (failed) {
        reap(cmd); /* it exits 126/127 right after reporting (a supervisor: after it) */
        if (out->result_fd >= 0)
            close(out->result_fd);
        return -1;
    }
    if (cmd <= 0) {
        int cloned_status = cloned > 0 ? reap_unannounced(cloned) : 0;
        return died_before_exec(spec, WIFSIGNALED(ended) ? ended : cloned_status, f);
    }
    out->pid = cmd;
    out->nspid = nspid;
    return 0;
}

struct uts_args {
    const struct env *env;
    const char *name; /* to set; NULL: read into buf */
    char *buf;
    size_t size;
    struct failure failure; /* the child's, when it exits 1 */
};

/* Joins the env's user and UTS namespaces, then sets or reads the hostname. It runs in our memory
 * (CLONE_VM|CLONE_VFORK: we wait, suspended, until it exits), so it writes its result and its
 * failure straight into the args and never returns into our frames. */
static int uts_child(void *arg)
{
    struct uts_args *a = arg;
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* as direct_child: not traceable from the env meanwhile */
    const char *what = "";
    if (env_join(a->env, NS_BIT(NS_USER) | NS_BIT(NS_UTS), &what) < 0) {
        fail(&a->failure, "setns", "setns", what, NULL);
        _exit(1);
    }
    if (a->name) {
        if (sethostname(a->name, strlen(a->name)) < 0) {
            fail(&a->failure, "hostname", "sethostname", a->name, NULL);
            _exit(1);
        }
    } else {
        struct utsname uts;
        uname(&uts);
        snprintf(a->buf, a->size, "%s", uts.nodename);
    }
    _exit(0);
}

int run_in_our_memory(int (*fn)(void *), void *arg, int extra_flags, const struct failure *child_failure,
                      const char *stage, const char *died, struct failure *f)
{
    if (!direct_stack_top())
        return fail(f, stage, "mmap", "", NULL);
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    pid_t pid = clone_on_spare_stack(fn, arg, CLONE_VM | CLONE_VFORK | SIGCHLD | extra_flags);
    int err = errno;
    prctl(PR_SET_DUMPABLE, dumpable > 0 ? dumpable : 0, 0, 0, 0);
    if (pid < 0) {
        errno = err;
        return fail(f, stage, "clone", "", NULL);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
        *f = *child_failure;
        return -1;
    }
    errno = ECHILD;
    return fail(f, stage, "clone", "", "%s", died);
}

/* UNAME and SET-HOSTNAME: a child in our memory joins the env's user and UTS namespaces (a
 * helper cannot enter an env's UTS namespace and come back without CAP_SYS_ADMIN in its own user
 * namespace, i.e. rootless), so nothing of ours is copied: a fork() of the helper cost as much as
 * a command. */
static int uts_in_env(const struct env *env, const char *name, char *buf, size_t size, const char *stage,
                      struct failure *f)
{
    struct uts_args args = { .env = env, .name = name, .buf = buf, .size = size };
    return run_in_our_memory(uts_child, &args, 0, &args.failure, stage,
                             name ? "the process setting the hostname died" : "the process reading the hostname died",
                             f);
}

int read_env_hostname(const struct env *env, char *buf, size_t size, struct failure *f)
{
    return uts_in_env(env, NULL, buf, size, "uname", f);
}

int set_env_hostname(const struct env *env, const char *name, struct failure *f)
{
    return uts_in_env(env, name, NULL, 0, "hostname", f);
}

char **build_envp(char *const *given, size_t count)
{
    if (count == 0) {
        char **envp = xmalloc(3 * sizeof *envp);
        envp[0] = xstrdup("PATH=" DEFAULT_PATH);
        envp[1] = xstrdup("HOME=/");
        envp[2] = NULL;
        return envp;
    }
    char **envp = xmalloc((count + 1) * sizeof *envp);
    for (size_t i = 0; i < count; i++)
        envp[i] = xstrdup(given[i]);
    envp[count] = NULL;
    return envp;
}
