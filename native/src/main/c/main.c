/*
 * isolated-helper - the native half of Isolated: Linux namespaces for JUnit tests.
 *
 * - `run`: a fresh environment (namespaces, a writable overlay of a rootfs that is never
 *   written, pivot_root, /proc, /dev, /tmp), one command in it with our stdio, then teardown;
 *   exits with the command's code (128+N on signal N, 125 setup failure, 126/127 exec).
 * - `enter`: like nsenter: joins the namespaces (and root) and the cgroups of a running process,
 *   runs a command.
 * - `serve`: the resident server the JVM talks to (PROTOCOL.md); environments die with it.
 * - `probe`: tries every step in throwaway children and reports what works here (probe.c).
 * - Single-threaded on purpose: only a single-threaded process may create or join a user
 *   namespace, which is why the JVM cannot do any of this itself.
 * - Options are parsed into a struct first, then executed; setup failures take one path
 *   (util.h) and print `isolated-helper: <stage>: <syscall> <path>: <strerror>` + `hint:`.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "env.h"
#include "idrange.h"
#include "mounts.h"
#include "options.h"
#include "probe.h"
#include "serve.h"
#include "spawn.h"
#include "statedir.h"
#include "supervise.h"
#include "util.h"

static const char USAGE[] =
    "Usage:\n"
    "  isolated-helper run [OPTIONS] -- CMD [ARG...]\n"
    "      Create a fresh environment, run CMD in it with this terminal's stdio, tear it down.\n"
    "      CMD is a session of its own without a controlling terminal (as every command: no\n"
    "      /dev/tty, no job control; only its stdio fds reach this terminal). SIGINT, SIGTERM,\n"
    "      SIGHUP, SIGQUIT, SIGUSR1/2 sent to the helper (Ctrl-C: it is in the foreground) go\n"
    "      to CMD.\n"
    "      --rootfs DIR          the root filesystem (default /); only read, never written:\n"
    "                            the environment sees a writable overlay (or copy) of it\n"
    "      --ns LIST             namespaces to unshare, comma-separated, of\n"
    "                            pid,mount,uts,ipc,net,user,cgroup,time (default pid,mount,uts,ipc);\n"
    "                            user is always added: as real root 0..65535 inside are a host\n"
    "                            range of the environment's own (from 1073741824, 65536-aligned,\n"
    "                            locked in /run/isolated/userns), the image idmapped onto it\n"
    "      --user-map MODE       not root: root (default: the caller is 0 inside), self (the\n"
    "                            caller's own uid/gid inside, setgroups denied) or subids (the\n"
    "                            caller is 0, its /etc/subuid and /etc/subgid ranges are 1..N,\n"
    "                            written by newuidmap/newgidmap: apt-get install uidmap);\n"
    "                            as real root every mode maps the range\n"
    "      --hostname NAME       set the hostname (needs uts; default with uts: isolated,\n"
    "                            never the host's)\n"
    "      --rootfs-mode MODE    auto (overlay, else copy), overlay or copy (default auto)\n"
    "      --as-pid-1            CMD is PID 1 of its own nested PID namespace, with its own /proc\n"
    "      --env K=V             environment variable (repeatable: all of CMD's environment;\n"
    "                            without any, PATH=... and HOME=/)\n"
    "      --cwd DIR             working directory inside (default /)\n"
    "      --state-dir DIR       scratch directory (default $XDG_RUNTIME_DIR, else /tmp);\n"
    "                            unused as root with mount, where the env's mount point\n"
    "                            is /run/isolated/mnt, as serve's\n"
    "      --print-pid           print `init-pid=N` (the env's init, host pid) on stderr\n"
    "                            once the command runs\n"
    "    mounts (need mount; targets resolved inside the root, created when missing):\n"
    "      --bind SRC:DST[:ro|rw]  bind a host file or directory at DST (default rw)\n"
    "      --ro-bind SRC:DST     the same, read-only (submounts too)\n"
    "      --tmpfs DST[:SIZE[:MODE]]  a tmpfs at DST (SIZE bytes, 0 = kernel default;\n"
    "                            MODE octal, default 1777)\n"
    "      --readonly-root       `/` read-only after all mounts (/tmp, /dev, /proc, tmpfs and\n"
    "                            rw binds stay writable); writes elsewhere fail with EROFS\n"
    "      --upper-size SIZE     the writable layer's tmpfs size (bytes, suffix k, m, g, or N%\n"
    "                            of RAM; default the kernel's, half the RAM)\n"
    "      --upper-dir DIR       the writable layer in DIR/upper on the host (an existing empty\n"
    "                            directory; as root given to the env's id range) instead\n"
    "      --layer DIR           a read-only layer over the rootfs, e.g. from copy-layer\n"
    "                            (repeatable, topmost first, at most 8)\n"
    "    limits and hardening:\n"
    "      --memory-max BYTES    cgroup memory limit (suffix k, m, g allowed); an OOM kill is\n"
    "                            reported on stderr\n"
    "      --pids-max N          cgroup limit on processes + threads\n"
    "      --cpu-max QUOTA:PERIOD  cgroup CPU bandwidth, in microseconds\n"
    "      --rlimit NAME:SOFT[:HARD]  NAME of core nofile nproc cpu fsize as stack memlock;\n"
    "                            `unlimited` allowed (default core:0)\n"
    "      --caps all|default    all (default): the env's root keeps every capability in its\n"
    "                            namespaces but SYS_PTRACE, like unshare; default: Docker's set\n"
    "      --seccomp FILE        raw struct sock_filter cBPF, applied last before exec (on top\n"
    "                            of the default filter when that is on)\n"
    "      --seccomp-profile default|unconfined  unconfined (the default here, as unshare):\n"
    "                            no built-in filter; default: the built-in filter refusing\n"
    "                            keyctl, add_key, request_key, bpf, perf_event_open,\n"
    "                            userfaultfd, io_uring, kexec, modules, ioperm/iopl, swap,\n"
    "                            reboot, acct, clock setting, syslog, quotactl,\n"
    "                            open_by_handle_at, TIOCSTI/TIOCLINUX, AF_ALG/AF_VSOCK\n"
    "                            sockets, personality flags (EPERM); foreign ABIs (i386,\n"
    "                            x32) and syscalls above 469 (ENOSYS); with --caps default\n"
    "                            also mount, pivot_root, setns, unshare/clone of namespaces\n"
    "                            (clone3: ENOSYS), sethostname, fanotify_init\n"
    "      --time-offset CLOCK:SECONDS  monotonic or boottime offset (adds time to --ns)\n"
    "      --uid N, --gid N      run CMD as N inside (must be mapped in the env's user ns)\n"
    "      --groups N,N,...      its supplementary groups (default none; needs setgroups)\n"
    "      --umask OCTAL         default 022\n"
    "  isolated-helper enter --pid HOSTPID [--ns LIST] [--env K=V]... [--inherit-env] [--cwd DIR]\n"
    "                        [--uid N] [--gid N] [--groups N,...] [--umask OCTAL]\n"
    "                        [--caps all|default]\n"
    "                        [--seccomp-profile default|unconfined]\n"
    "                        [--rlimit NAME:SOFT[:HARD]] -- CMD [ARG...]\n"
    "      Join the namespaces of process HOSTPID (default: every one that differs from ours;\n"
    "      its user namespace always, when it differs: as root CMD is then 0 in the env's\n"
    "      range, never host root; with mount also its root), run CMD there, exit with its\n"
    "      code (128+N on signal N, 125 setup failed, 126/127 cannot execute / not found).\n"
    "      Another user's process (namespaces enter may not see) is 125, never CMD run outside.\n"
    "      CMD runs under a supervisor inside (a subreaper, enter's child), in a session and\n"
    "      process group of its own. SIGTERM, SIGINT, SIGHUP and SIGQUIT to enter go to CMD's\n"
    "      process group and ask it to stop: once CMD exited, what it started is SIGKILLed,\n"
    "      and enter exits when all of it is gone. SIGUSR1/SIGUSR2 go to CMD alone.\n"
    "      CMD starts in HOSTPID's cgroups (every hierarchy where they differ from ours), so\n"
    "      the environment's memory, pids and cpu limits apply to it.\n"
    "      --inherit-env passes this process's environment unchanged (instead of PATH, HOME).\n"
    "      If enter is SIGKILLed, the supervisor SIGKILLs CMD and everything it started right\n"
    "      after (enter's exit cannot wait for that). When CMD exits by itself, what it started\n"
    "      stays in the environment until it closes.\n"
    "  isolated-helper serve --state-dir DIR\n"
    "      The resident server of PROTOCOL.md on stdin/stdout; exits when stdin closes.\n"
    "      FORWARD (env=ID, port=N) listens on 127.0.0.1:<ephemeral> of the host and relays\n"
    "      each connection to 127.0.0.1:N inside the env's network namespace (loopback only;\n"
    "      an env without net gets host-port=N). CREATED's upper-fd=N: the env's writable\n"
    "      layer (overlay upper dir, or the copied root) is /proc/<init pid>/fd/N on the host.\n"
    "  isolated-helper copy-layer FROM TO [UNSHIFT]\n"
    "      Copies an env's writable layer FROM (e.g. /proc/<init pid>/fd/N) into the new\n"
    "      directory TO (0700 while it is filled, then FROM's mode and owner) without\n"
    "      following symlinks, keeping modes, owners, times, whiteouts, FIFOs and overlay\n"
    "      opaque marks, for use as a layer= of later envs. A copy that fails removes TO.\n"
    "      UNSHIFT (root: the env's id range base) maps owners BASE+id back to id.\n"
    "  isolated-helper probe [--json]\n"
    "      Try each step (user namespace, maps, mounts, overlay, pivot_root, namespaces,\n"
    "      cgroup controllers, sysctls) in throwaway children; newuidmap/newgidmap (where,\n"
    "      setuid or file caps), subids (a child mapped by them with the caller's /etc/subuid,\n"
    "      /etc/subgid ranges; root needs none), userns-capabilities (fails where a new user\n"
    "      namespace gets no capabilities: Ubuntu 24.04's AppArmor restriction).\n"
    "      One line per step:\n"
    "      `STEP ok [DETAIL]` or `STEP fail ERRNO DETAIL: HINT`, or with --json one object per line\n"
    "      {\"step\",\"ok\",\"errno\",\"detail\",\"hint\"}. Exits 0.\n"
    "  isolated-helper help | --help\n"
    "\n"
    "Every command gets a new, empty session keyring of its own. Capabilities that a left-out\n"
    "namespace would expose are removed whatever --caps says: without mount SYS_CHROOT (the\n"
    "chroot escape), without net NET_RAW and NET_ADMIN (the host's network).\n"
    "\n"
    "With mount, the environment gets a private tmpfs holding the overlay, a minimal /dev\n"
    "(null zero full random urandom tty, devpts, shm), a fresh /proc and a tmpfs /tmp, then\n"
    "pivot_root. Without pid /proc stays empty (the env's user namespace, which every env\n"
    "has, cannot mount one for the host's PID namespace). Without mount, the\n"
    "command is chroot()ed into the overlay and nothing else is mounted. With net, lo is up.\n"
    "Private networks between environments (`network=` of PROTOCOL.md) exist only in serve:\n"
    "one `run` is a single environment with no peer.\n"
    "\n"
    "Numbers are digits only (no blanks, no sign but --time-offset's, no suffix but those named)\n"
    "and in range; any other value is a bad option.\n"
    "\n"
    "Exit codes: the command's; 128+N if killed by signal N; 125 bad options, setup failed or\n"
    "--cwd cannot be entered (`hint: working directory DIR does not exist in the environment`);\n"
    "126 cannot execute; 127 not found.\n";

struct cli_options {
    const char *rootfs;
    unsigned ns;
    bool ns_given;
    const char *hostname;
    enum rootfs_mode mode;
    bool as_pid1;
    char **env;
    size_t env_count;
    const char *cwd;
    const char *state_dir;
    bool print_pid;
    pid_t target_pid;
    bool inherit_env;
    bool json;
    struct env_options extra;  /* mounts, limits, caps, rlimits, seccomp, time */
    struct exec_policy exec;   /* uid, gid, umask */
    char **argv;
};

static NORETURN PRINTF_LIKE(1, 2) void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "isolated-helper: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'isolated-helper --help'.\n");
    exit(EXIT_SETUP_FAILED);
}

enum { OPT_ROOTFS = 256, OPT_NS, OPT_HOSTNAME, OPT_MODE, OPT_PID1, OPT_ENV, OPT_CWD,
       OPT_STATE, OPT_PRINT_PID, OPT_PID, OPT_INHERIT_ENV, OPT_JSON, OPT_READONLY_ROOT,
       OPT_EXTRA, OPT_EXEC };

static void apply_field_option(struct cli_options *o, int kind, const char *name, const char *arg)
{
    struct failure f;
    int rc = kind == OPT_EXTRA ? env_options_apply(&o->extra, name, arg, ':', &f)
                               : exec_options_apply(&o->exec, name, arg, &f);
    if (rc < 0)
        die_with(&f, EXIT_SETUP_FAILED);
}

static void apply_option(struct cli_options *o, int opt, const char *arg)
{
    char bad[64];
    switch (opt) {
    case OPT_INHERIT_ENV: o->inherit_env = true; break;
    case OPT_JSON: o->json = true; break;
    case OPT_READONLY_ROOT: o->extra.readonly_root = true; break;
    case OPT_ROOTFS: o->rootfs = arg; break;
    case OPT_HOSTNAME: o->hostname = arg; break;
    case OPT_PID1: o->as_pid1 = true; break;
    case OPT_CWD: o->cwd = arg; break;
    case OPT_STATE: o->state_dir = arg; break;
    case OPT_PRINT_PID: o->print_pid = true; break;
    case OPT_PID: {
        long long pid;
        if (parse_integer(arg, 10, 1, INT_MAX, &pid) < 0)
            usage_error("--pid wants a process id (a positive number), not '%s'", arg);
        o->target_pid = (pid_t)pid;
        break;
    }
    case OPT_NS:
        if (parse_ns_list(arg, &o->ns, bad, sizeof bad) < 0)
            usage_error("unknown namespace '%s'", bad);
        o->ns_given = true;
        break;
    case OPT_MODE:
        if (parse_rootfs_mode(arg, &o->mode) < 0)
            usage_error("--rootfs-mode must be auto, overlay or copy, not '%s'", arg);
        break;
    case OPT_ENV:
        if (!strchr(arg, '='))
            usage_error("--env wants K=V, not '%s'", arg);
        o->env = xrealloc(o->env, (o->env_count + 1) * sizeof *o->env);
        o->env[o->env_count++] = (char *)arg;
        break;
    default: usage_error("unknown option");
    }
}

/* Which subcommands take an option: each option is refused, naming it, by the others. */
enum { FOR_RUN = 1, FOR_ENTER = 2, FOR_PROBE = 4, FOR_SERVE = 8 };

static unsigned subcommand_bit(const char *command)
{
    return strcmp(command, "run") == 0 ? FOR_RUN : strcmp(command, "enter") == 0 ? FOR_ENTER
         : strcmp(command, "probe") == 0 ? FOR_PROBE : FOR_SERVE;
}

static unsigned option_takers(const char *name)
{
    static const char *const ENTER_TOO[] = { "ns", "env", "cwd", "uid", "gid", "groups", "umask",
                                             "caps", "seccomp-profile", "rlimit" };
    if (strcmp(name, "pid") == 0 || strcmp(name, "inherit-env") == 0)
        return FOR_ENTER;
    if (strcmp(name, "json") == 0)
        return FOR_PROBE;
    if (strcmp(name, "state-dir") == 0)
        return FOR_RUN | FOR_SERVE;
    for (size_t i = 0; i < sizeof ENTER_TOO / sizeof *ENTER_TOO; i++)
        if (strcmp(name, ENTER_TOO[i]) == 0)
            return FOR_RUN | FOR_ENTER;
    return FOR_RUN;
}

static void parse_options(int argc, char **argv, bool needs_command, struct cli_options *out)
{
    static const struct option options[] = {
        { "rootfs", required_argument, NULL, OPT_ROOTFS },
        { "ns", required_argument, NULL, OPT_NS },
        { "hostname", required_argument, NULL, OPT_HOSTNAME },
        { "rootfs-mode", required_argument, NULL, OPT_MODE },
        { "as-pid-1", no_argument, NULL, OPT_PID1 },
        { "env", required_argument, NULL, OPT_ENV },
        { "cwd", required_argument, NULL, OPT_CWD },
        { "state-dir", required_argument, NULL, OPT_STATE },
        { "print-pid", no_argument, NULL, OPT_PRINT_PID },
        { "pid", required_argument, NULL, OPT_PID },
        { "inherit-env", no_argument, NULL, OPT_INHERIT_ENV },
        { "json", no_argument, NULL, OPT_JSON },
        { "readonly-root", no_argument, NULL, OPT_READONLY_ROOT },
        { "bind", required_argument, NULL, OPT_EXTRA },
        { "ro-bind", required_argument, NULL, OPT_EXTRA },
        { "tmpfs", required_argument, NULL, OPT_EXTRA },
        { "memory-max", required_argument, NULL, OPT_EXTRA },
        { "pids-max", required_argument, NULL, OPT_EXTRA },
        { "cpu-max", required_argument, NULL, OPT_EXTRA },
        { "rlimit", required_argument, NULL, OPT_EXTRA },
        { "user-map", required_argument, NULL, OPT_EXTRA },
        { "caps", required_argument, NULL, OPT_EXTRA },
        { "seccomp", required_argument, NULL, OPT_EXTRA },
        { "seccomp-profile", required_argument, NULL, OPT_EXTRA },
        { "time-offset", required_argument, NULL, OPT_EXTRA },
        { "layer", required_argument, NULL, OPT_EXTRA },
        { "upper-dir", required_argument, NULL, OPT_EXTRA },
        { "upper-size", required_argument, NULL, OPT_EXTRA },
        { "uid", required_argument, NULL, OPT_EXEC },
        { "gid", required_argument, NULL, OPT_EXEC },
        { "groups", required_argument, NULL, OPT_EXEC },
        { "umask", required_argument, NULL, OPT_EXEC },
        { NULL, 0, NULL, 0 },
    };
    struct cli_options o = { .rootfs = "/", .ns = NS_DEFAULT, .mode = ROOTFS_AUTO, .cwd = "/" };
    int opt, index = -1;
    env_options_init(&o.extra);
    exec_policy_init(&o.exec, NULL);
    opterr = 0; /* our own messages, naming the option */
    while ((opt = getopt_long(argc, argv, "+:", options, &index)) != -1) {
        if (opt == ':')
            usage_error("%s needs a value", argv[optind - 1]);
        if (opt == '?' && optopt >= OPT_ROOTFS) /* --as-pid-1=x */
            usage_error("%.*s takes no value", (int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
        if (opt == '?' && optopt)
            usage_error("unknown option '-%c'", optopt);
        if (opt == '?')
            usage_error("unknown option '%s'", argv[optind - 1]);
        if (index >= 0 && !(option_takers(options[index].name) & subcommand_bit(argv[0])))
            usage_error("%s takes no --%s", argv[0], options[index].name);
        if ((opt == OPT_EXTRA || opt == OPT_EXEC) && index >= 0)
            apply_field_option(&o, opt, options[index].name, optarg);
        else
            apply_option(&o, opt, optarg);
        index = -1;
    }
    o.argv = argv + optind;
    if (needs_command && !o.argv[0])
        usage_error("missing the command (after --)");
    *out = o;
}

static int exit_code_of(int status)
{
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* The signals we forward to the command instead of dying from them. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    int forwarded[] = { SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(set, forwarded[i]);
    sigprocmask(SIG_BLOCK, set, NULL);
}

/* Waits for the command, forwarding signals to it; returns its exit code. Reaps everything
 * else on the way; an init that died is forgotten (*init = -1) so that no stale pid is killed. */
static int wait_for_command(pid_t cmd, pid_t *init, const sigset_t *set)
{
    for (;;) {
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid == cmd)
                return exit_code_of(status);
            if (init && pid == *init)
                *init = -1;
        }
        siginfo_t info;
        int sig = sigwaitinfo(set, &info);
        if (sig > 0 && sig != SIGCHLD)
            kill(cmd, sig);
    }
}

static NORETURN void die_spawn_failure(const struct failure *f)
{
    if (strcmp(f->stage, "exec") == 0 && strcmp(f->syscall, "execve") == 0)
        die_with(f, f->err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
    if (f->signal) /* killed before its exec: as a shell's child killed between fork and exec */
        die_with(f, 128 + f->signal);
    die_with(f, EXIT_SETUP_FAILED);
}

static char *make_scratch_dir(const char *state_dir)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    const char *bases[] = { state_dir ? state_dir : (xdg && *xdg ? xdg : "/tmp"), "/tmp" };
    for (size_t i = 0; i < (state_dir ? 1u : 2u); i++) {
        char *dir = xasprintf("%s/isolated-run-XXXXXX", bases[i]);
        if (mkdtemp(dir))
            return dir;
        free(dir);
    }
    die("state-dir", "mkdtemp", bases[0], "the state directory must exist and be writable");
}

/* As root the init mounts its private tmpfs at the scratch dir already as its range's root
 * (env.c), which cannot search a 0700 state dir such as root's XDG_RUNTIME_DIR (/run/user/0):
 * with mount it takes serve's mount point instead, searchable by all and empty on the host. */
static char *root_mount_point(void)
{
    if (make_dirs(ISOLATED_RUN_DIR, 0755) < 0 || chmod(ISOLATED_RUN_DIR, 0755) < 0 ||
        (mkdir(ROOT_MNT_DIR, 0755) < 0 && errno != EEXIST))
        die("state-dir", "mkdir", ROOT_MNT_DIR, "root's environments need a writable /run");
    return xstrdup(ROOT_MNT_DIR);
}

/* The scratch dir holds only a mount point (mount ns) or the chroot tree (removed by
 * env_release); an empty directory is all that is left of it here. The shared mount point
 * stays: removing it would unmount it in the namespaces of other helpers' envs. */
static void tear_down(struct env *env, char *scratch, bool shared)
{
    env_kill(env);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    env_release(env);
    env_kill_strays(env);
    env_remove_cgroup(env);
    if (!shared)
        rmdir(scratch);
    free(scratch);
    helper_identity_release(); /* its cgroup is gone: nothing left to sweep */
}

static int run_main(struct cli_options *o)
{
    struct failure f;
    struct env env;
    char rootfs[PATH_MAX];
    sigset_t set;
    o->ns |= NS_BIT(NS_USER); /* always: as root with a host id range of its own (env.c) */
    if (!realpath(o->rootfs, rootfs))
        die("mount-rootfs", "realpath", o->rootfs, NULL);
    if (!(o->ns & NS_BIT(NS_MOUNT)) && make_helper_mounts_private(&f) < 0)
        die_with(&f, EXIT_SETUP_FAILED);
    bool shared = real_root() && (o->ns & NS_BIT(NS_MOUNT));
    char *scratch = shared ? root_mount_point() : make_scratch_dir(o->state_dir);
    char *tree = xasprintf("%s/root", scratch);
    char *cgroup_name = xasprintf("isolated-run-%s", helper_identity());
    struct env_spec spec = { .rootfs = rootfs, .ns = o->ns, .hostname = o->hostname,
                             .mode = o->mode, .cgroup_name = cgroup_name,
                             .scratch = (o->ns & NS_BIT(NS_MOUNT)) ? scratch : tree };
    env_options_to_spec(&o->extra, &spec);
    block_signals(&set);
    int rc = env_create(&spec, &env, &f);
    env_options_take_policy(&o->extra, &env);
    if (rc < 0) {
        tear_down(&env, scratch, shared);
        die_with(&f, EXIT_SETUP_FAILED);
    }
    /* After pivot_root the env no longer has the scratch dir as a mount point (its tmpfs went
     * with the detached old root), so it can go now: nothing is left behind even on SIGKILL. */
    if (env.pivoted && !shared)
        rmdir(scratch);
    char **envp = build_envp(o->env, o->env_count);
    struct spawn_spec run = { .env = &env, .join = env.ns, .argv = o->argv, .envp = envp,
                              .cwd = o->cwd, .pid1 = o->as_pid1, .stdio = { 0, 1, 2 },
                              .policy = o->exec };
    run.policy.env = &env.policy;
    struct spawned cmd;
    long long oom_before = env.cg.version ? cgroup_oom_kills(&env.cg) : -1;
    if (spawn_in_env(&run, &cmd, &f) < 0) {
        tear_down(&env, scratch, shared);
        die_spawn_failure(&f);
    }
    if (o->print_pid) /* once the command runs: `enter` then finds it */
        fprintf(stderr, "init-pid=%d\n", env.pid);
    int code = wait_for_command(cmd.pid, &env.pid, &set);
    if (code == 128 + SIGKILL && oom_before >= 0 && cgroup_oom_kills(&env.cg) > oom_before)
        fputs("isolated-helper: the command was killed by the OOM killer (--memory-max)\n", stderr);
    tear_down(&env, scratch, shared);
    free(tree);
    free(cgroup_name);
    return code;
}

static int enter_main(struct cli_options *o)
{
    struct failure f;
    struct env env;
    sigset_t set;
    if (o->target_pid <= 0)
        usage_error("enter needs --pid HOSTPID");
    if (env_attach(o->target_pid, o->ns_given ? o->ns : 0, &env, &f) < 0)
        die_with(&f, EXIT_SETUP_FAILED);
    block_signals(&set);
    char **envp = o->inherit_env ? environ : build_envp(o->env, o->env_count);
    env_options_take_policy(&o->extra, &env); /* caps, rlimits, seccomp of the options */
    struct spawn_spec run = { .env = &env, .join = env.ns, .argv = o->argv, .envp = envp,
                              .cwd = o->cwd, .pid1 = o->as_pid1, .supervised = true,
                              .stdio = { 0, 1, 2 }, .policy = o->exec };
    run.policy.env = &env.policy;
    struct spawned cmd;
    if (spawn_in_env(&run, &cmd, &f) < 0)
        die_spawn_failure(&f);
    if (cmd.result_fd >= 0)
        return wait_for_supervisor(cmd.pid, cmd.result_fd, &set);
    return wait_for_command(cmd.pid, NULL, &set);
}

int main(int argc, char **argv)
{
    remember_argv(argc, argv);
    reset_all_signals();
    ensure_std_fds();
    close_fds_above(3, -1);
    /* Built once here, only read by the forked commands (seccomp.c). */
    (void)default_seccomp_program(true);
    (void)default_seccomp_program(false);
    const char *command = argc > 1 ? argv[1] : "help";
    if (strcmp(command, "help") == 0 || strcmp(command, "--help") == 0 ||
        strcmp(command, "-h") == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (strcmp(command, "run") == 0) {
        struct cli_options o;
        parse_options(argc - 1, argv + 1, true, &o);
        if (o.hostname && !(o.ns & NS_BIT(NS_UTS)))
            usage_error("--hostname needs uts in --ns");
        return run_main(&o);
    }
    if (strcmp(command, "enter") == 0) {
        struct cli_options o;
        parse_options(argc - 1, argv + 1, true, &o);
        return enter_main(&o);
    }
    if (strcmp(command, "copy-layer") == 0) {
        struct failure f;
        long long unshift = 0;
        if (argc < 4 || argc > 5)
            usage_error("copy-layer FROM TO [UNSHIFT]");
        if (argc == 5 && parse_integer(argv[4], 10, 0, 0xffffffffLL, &unshift) < 0)
            usage_error("copy-layer's UNSHIFT wants a uid (0 to 4294967295), not '%s'", argv[4]);
        /* Dies with the JVM that started it (whose thread waits for it): a copy a SIGKILLed JVM left
         * running would keep the dead env's layer open and write on into the directory that the
         * next JVM removes, making that removal fail. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        umask(0);
        if (copy_layer(argv[2], argv[3], (unsigned)unshift, &f) < 0)
            die_with(&f, EXIT_SETUP_FAILED);
        return 0;
    }
    if (strcmp(command, "probe") == 0) {
        struct cli_options o;
        parse_options(argc - 1, argv + 1, false, &o);
        return probe_main(o.json);
    }
    if (strcmp(command, "serve") == 0) {
        struct cli_options o;
        parse_options(argc - 1, argv + 1, false, &o);
        if (!o.state_dir)
            usage_error("serve needs --state-dir DIR");
        return serve_main(o.state_dir);
    }
    usage_error("unknown subcommand '%s'", command);
}
