/*
 * probe.c - `isolated-helper probe [--json]`: tries each setup step in a throwaway child.
 *
 * - Each step runs in its own child, created with the namespaces it needs (plus a user
 *   namespace when not root, as `run` does); a user namespace gets its maps from the parent
 *   exactly as env.c writes them. Nothing a step does outlives its child.
 * - The child reports {ok, failure, detail} with one write on a CLOEXEC pipe; a child that
 *   dies without a report is a failure of that step.
 * - Sysctls are read, not changed, and reported as facts (`absent` when the file is missing).
 * - Output: `STEP ok DETAIL` / `STEP fail ERRNAME SYSCALL PATH: HINT`, or with --json one
 *   object per line {"step","ok","errno","detail","hint"}. Exit code 0 either way.
 */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "mounts.h"
#include "util.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

struct probe_msg {
    int ok;
    struct failure failure;
    char detail[256];
};

typedef int (*step_fn)(char *detail, size_t size, struct failure *f);

static bool json_output;
static bool child_in_userns; /* in the child: whether it got a user namespace */

static void print_json_string(const char *key, const char *value, bool last)
{
    printf("\"%s\":\"", key);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    printf("\"%s", last ? "}\n" : ",");
}

static void report(const char *step, const struct probe_msg *m)
{
    const struct failure *f = &m->failure;
    char detail[sizeof m->detail + 600];
    if (m->ok || m->detail[0])
        snprintf(detail, sizeof detail, "%s", m->detail);
    else
        snprintf(detail, sizeof detail, "%s%s%s: %s", f->syscall, f->path[0] ? " " : "", f->path,
                 f->err ? strerror(f->err) : "failed");
    if (!json_output) {
        if (m->ok)
            printf("%s ok%s%s\n", step, detail[0] ? " " : "", detail);
        else
            printf("%s fail %s %s%s%s\n", step, f->err ? errno_name(f->err) : "-", detail,
                   f->hint[0] ? ": " : "", f->hint);
        fflush(stdout);
        return;
    }
    printf("{");
    print_json_string("step", step, false);
    printf("\"ok\":%s,", m->ok ? "true" : "false");
    print_json_string("errno", m->ok || !f->err ? "" : errno_name(f->err), false);
    print_json_string("detail", detail, false);
    print_json_string("hint", m->ok ? "" : f->hint, true);
    fflush(stdout);
}

/* ---- the throwaway child ---- */

static int write_maps(pid_t pid, bool deny_setgroups)
{
    char path[64], map[64];
    snprintf(path, sizeof path, "/proc/%d/setgroups", pid);
    if (deny_setgroups && write_file(path, "deny") < 0 && errno != ENOENT)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)geteuid());
    if (write_file(path, map) < 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)getegid());
    return write_file(path, map);
}

static NORETURN void child_main(step_fn fn, bool in_userns, int go, int out)
{
    struct probe_msg m = { .ok = 1 };
    char byte;
    child_in_userns = in_userns;
    if (read(go, &byte, 1) != 1) {
        errno = EPERM;
        fail(&m.failure, "uid-map", "write", "/proc/PID/uid_map",
             "the parent could not write the uid/gid maps");
        m.ok = 0;
    } else if (fn && in_userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
        fail(&m.failure, "uid-map", "setresuid", "0", "the maps were not applied");
        m.ok = 0;
    } else if (fn) {
        m.ok = fn(m.detail, sizeof m.detail, &m.failure) == 0;
        if (!m.ok)
            m.detail[0] = '\0'; /* the failure describes it */
    }
    (void)write_all(out, &m, sizeof m);
    _exit(0);
}

/* Clones a child with FLAGS, writes its maps (when it has a user ns), collects its report. */
static void run_in_child(unsigned long flags, bool maps, step_fn fn, struct probe_msg *m)
{
    int go[2], out[2];
    memset(m, 0, sizeof *m);
    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        fail(&m->failure, "probe", "pipe2", "", NULL);
        return;
    }
    pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, NULL, NULL, 0);
    if (pid == 0) {
        close(go[1]);
        close(out[0]);
        child_main(fn, flags & CLONE_NEWUSER, go[0], out[1]);
    }
    close(go[0]);
    close(out[1]);
    if (pid < 0)
        fail(&m->failure, "clone", "clone", "", NULL);
    else if (!maps || !(flags & CLONE_NEWUSER) || write_maps(pid, geteuid() != 0) == 0)
        (void)write_all(go[1], "g", 1);
    else
        fail(&m->failure, "uid-map", "write", "/proc/PID/uid_map", NULL);
    close(go[1]);
    struct probe_msg got;
    if (pid > 0 && read_all(out[0], &got, sizeof got) == (ssize_t)sizeof got && !m->failure.stage[0])
        *m = got;
    else if (pid > 0 && !m->failure.stage[0])
        fail(&m->failure, "probe", "waitpid", "", "the probe child died");
    close(out[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* ---- the steps (run inside the child) ---- */

static int step_uid_map(char *detail, size_t size, struct failure *f)
{
    (void)f;
    snprintf(detail, size, "uid %u mapped to 0", (unsigned)getuid());
    return 0;
}

static int step_setgroups(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size;
    if (setgroups(0, NULL) < 0)
        return fail(f, "setgroups", "setgroups", "", "setgroups is denied in an unprivileged "
                    "user namespace (expected without root): commands there have no "
                    "supplementary groups");
    return 0;
}

static int step_mount_ns(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size;
    return make_root_private(f);
}

static int mount_tmp_tmpfs(struct failure *f)
{
    if (make_root_private(f) < 0)
        return -1;
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        return fail(f, "tmpfs", "mount", "/tmp", "tmpfs cannot be mounted in a user namespace "
                    "here (Ubuntu: kernel.apparmor_restrict_unprivileged_userns=0)");
    return 0;
}

static int step_tmpfs(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size;
    return mount_tmp_tmpfs(f);
}

static int step_proc(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size;
    if (make_root_private(f) < 0)
        return -1;
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return fail(f, "mount-proc", "mount", "/proc", errno == EPERM
                    ? "the outer /proc is masked (running in a container?): run it with /proc "
                      "unmasked (docker/podman --security-opt unmask=/proc/*, or --privileged)"
                    : NULL);
    return 0;
}

static int try_overlay(const char *extra, struct failure *f)
{
    static const char *const dirs[] = { "/tmp/l", "/tmp/u", "/tmp/w", "/tmp/m" };
    char opts[128];
    if (mount_tmp_tmpfs(f) < 0)
        return -1;
    for (int i = 0; i < 4; i++)
        if (mkdir(dirs[i], 0755) < 0)
            return fail(f, "overlay", "mkdir", dirs[i], NULL);
    snprintf(opts, sizeof opts, "lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w%s", extra);
    if (mount("overlay", "/tmp/m", "overlay", 0, opts) < 0)
        return fail(f, "overlay", "mount", opts, "overlayfs is unavailable here: environments "
                    "use a copy of the rootfs instead (slower)");
    return 0;
}

static int step_overlay_userxattr(char *detail, size_t size, struct failure *f)
{
    snprintf(detail, size, "userxattr");
    return try_overlay(",userxattr", f);
}

static int step_overlay_plain(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size;
    return try_overlay("", f);
}

static int step_overlay(char *detail, size_t size, struct failure *f)
{
    if (!child_in_userns)
        return step_overlay_plain(detail, size, f);
    return step_overlay_userxattr(detail, size, f); /* what env.c tries first in a userns */
}

static int step_pivot_root(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size;
    if (mount_tmp_tmpfs(f) < 0)
        return -1;
    if (mkdir("/tmp/r", 0755) < 0 || mount("/tmp/r", "/tmp/r", NULL, MS_BIND, NULL) < 0)
        return fail(f, "pivot-root", "mount", "/tmp/r", NULL);
    return pivot_into("/tmp/r", f);
}

static int step_net(char *detail, size_t size, struct failure *f)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq req = { 0 };
    snprintf(req.ifr_name, sizeof req.ifr_name, "lo");
    if (sock < 0 || ioctl(sock, SIOCGIFFLAGS, &req) < 0)
        return fail(f, "loopback", "ioctl(SIOCGIFFLAGS)", "lo", NULL);
    req.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(sock, SIOCSIFFLAGS, &req) < 0)
        return fail(f, "loopback", "ioctl(SIOCSIFFLAGS)", "lo", "lo cannot be brought up "
                    "(Ubuntu: kernel.apparmor_restrict_unprivileged_userns=0)");
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
        return fail(f, "loopback", "bind", "127.0.0.1", NULL);
    snprintf(detail, size, "lo up");
    return 0;
}

static int step_uts(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size;
    if (sethostname("probe", 5) < 0)
        return fail(f, "hostname", "sethostname", "probe", NULL);
    return 0;
}

static int step_nothing(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size, (void)f;
    return 0;
}

static int step_time(char *detail, size_t size, struct failure *f)
{
    if (unshare(CLONE_NEWTIME) < 0)
        return fail(f, "time", "unshare", "CLONE_NEWTIME", "time namespaces need Linux 5.6 "
                    "(CONFIG_TIME_NS)");
    if (write_file("/proc/self/timens_offsets", "boottime 86400 0\n") < 0)
        return fail(f, "time", "write", "/proc/self/timens_offsets", NULL);
    snprintf(detail, size, "offsets writable");
    return 0;
}

/* ---- the steps in order ---- */

static const char *userns_hint(int err)
{
    if (err == ENOSPC)
        return "user.max_user_namespaces is 0 (or the nesting limit is reached): "
               "sysctl -w user.max_user_namespaces=15000";
    if (err == EPERM || err == EACCES)
        return "user namespaces are disabled: sysctl -w kernel.unprivileged_userns_clone=1 "
               "(Debian), or allowed by the seccomp profile (Docker: --security-opt "
               "seccomp=unconfined); inside a chroot they are refused";
    return "";
}

static void run_step(const char *name, unsigned long flags, bool maps, step_fn fn)
{
    struct probe_msg m;
    bool rootless = geteuid() != 0;
    if (rootless)
        flags |= CLONE_NEWUSER; /* as `run` does for a non-root caller */
    run_in_child(flags, maps, fn, &m);
    if (!m.ok && strcmp(m.failure.stage, "clone") == 0 && (flags & CLONE_NEWUSER))
        snprintf(m.failure.hint, sizeof m.failure.hint, "%s", userns_hint(m.failure.err));
    report(name, &m);
}

static void report_sysctl(const char *name, const char *path, const char *deny, const char *hint)
{
    struct probe_msg m = { .ok = 1 };
    char value[64] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, value, sizeof value - 1) : -1;
    if (fd >= 0)
        close(fd);
    value[n > 0 ? n : 0] = '\0';
    value[strcspn(value, "\n")] = '\0';
    snprintf(m.detail, sizeof m.detail, "%s", n >= 0 ? value : "absent");
    if (n >= 0 && strcmp(value, deny) == 0) {
        errno = 0; /* a fact, not a failed call */
        m.ok = 0;
        fail(&m.failure, "sysctl", "read", path, "%s", hint);
    }
    char step[96];
    snprintf(step, sizeof step, "sysctl %s", name);
    report(step, &m);
}

static void report_cgroup(enum cg_controller c)
{
    struct probe_msg m = { .ok = 1 };
    char step[32];
    if (cgroup_probe(c, m.detail, sizeof m.detail, &m.failure) < 0)
        m.ok = 0;
    snprintf(step, sizeof step, "cgroup-%s", CG_NAMES[c]);
    report(step, &m);
}

int probe_main(bool json)
{
    const unsigned long U = CLONE_NEWUSER, M = CLONE_NEWNS;
    json_output = json;
    report_sysctl("kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone",
                  "0", "sysctl -w kernel.unprivileged_userns_clone=1");
    report_sysctl("user.max_user_namespaces", "/proc/sys/user/max_user_namespaces", "0",
                  "sysctl -w user.max_user_namespaces=15000");
    report_sysctl("kernel.apparmor_restrict_unprivileged_userns",
                  "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
                  "user namespaces are created but get no capabilities: sysctl -w "
                  "kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile with "
                  "`userns,` for the helper's path");
    run_step("userns", U, false, NULL);
    run_step("uid-map", U, true, step_uid_map);
    run_step("setgroups", U, true, step_setgroups);
    run_step("mount-ns", M, true, step_mount_ns);
    run_step("tmpfs-userns", U | M, true, step_tmpfs);
    run_step("proc", CLONE_NEWPID | M, true, step_proc);
    run_step("overlay", M, true, step_overlay);
    run_step("overlay-userxattr", U | M, true, step_overlay_userxattr);
    run_step("overlay-userns-no-userxattr", U | M, true, step_overlay_plain);
    run_step("pivot-root", M, true, step_pivot_root);
    run_step("net", CLONE_NEWNET, true, step_net);
    run_step("uts", CLONE_NEWUTS, true, step_uts);
    run_step("ipc", CLONE_NEWIPC, true, step_nothing);
    run_step("cgroup-ns", CLONE_NEWCGROUP, true, step_nothing);
    run_step("time-ns", 0, true, step_time);
    for (int c = 0; c < CG_COUNT; c++)
        report_cgroup((enum cg_controller)c);
    return 0;
}
