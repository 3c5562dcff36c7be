/*
 * probe.c - `isolated-helper probe [--json]`: tries each setup step in a throwaway child.
 *
 * - Each step runs in its own child, created with the namespaces it needs (plus a user
 *   namespace when not root, as `run` does); a user namespace gets its maps from the parent
 *   with usermap.c's code, as env.c writes them. Nothing a step does outlives its child.
 * - `subids` maps a child with newuidmap/newgidmap and the caller's /etc/subuid, /etc/subgid
 *   ranges (user-map=subids as non-root), also as root, who normally has no range (and needs
 *   none). `userns-capabilities` sums up the AppArmor-style restriction found by trying: the
 *   user namespace is created, then a mount and sethostname inside it are refused.
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
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "mounts.h"
#include "usermap.h"
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

/* Clones a child with FLAGS, writes its maps by PLAN (when it has a user ns and a plan),
 * collects its report. */
static void run_in_child(unsigned long flags, const struct id_map_plan *plan, step_fn fn,
                         struct probe_msg *m)
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
    else if (!plan || !(flags & CLONE_NEWUSER) || write_id_maps(pid, plan, &m->failure) == 0)
        (void)write_all(go[1], "g", 1);
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

/* ---- user-map=subids: the programs, the ranges, a child mapped by them ---- */

static struct id_map_plan subids_plan; /* the parent's plan, read by the child (a copy) */

/* Whether inside id 1 is mapped in /proc/self/FILE; *outside gets its host id. */
static bool inside_one_mapped(const char *file, unsigned long *outside)
{
    char path[32];
    unsigned long inside, lower, count;
    bool found = false;
    snprintf(path, sizeof path, "/proc/self/%s", file);
    FILE *maps = fopen(path, "re");
    while (maps && !found && fscanf(maps, "%lu %lu %lu", &inside, &lower, &count) == 3)
        found = inside <= 1 && 1 < inside + count;
    if (maps)
        fclose(maps);
    *outside = found ? lower + (1 - inside) : 0;
    return found;
}

static int step_subids(char *detail, size_t size, struct failure *f)
{
    const struct id_map_plan *p = &subids_plan;
    unsigned long uid1, gid1;
    errno = 0;
    if (!inside_one_mapped("uid_map", &uid1))
        return fail(f, "subids", "read", "/proc/self/uid_map", "uid 1 is not mapped after %s",
                    p->newuidmap);
    if (!inside_one_mapped("gid_map", &gid1))
        return fail(f, "subids", "read", "/proc/self/gid_map", "gid 1 is not mapped after %s",
                    p->newgidmap);
    snprintf(detail, size, "%s: uids 1..%lu -> %lu.. (/etc/subuid %lu:%lu), gids 1..%lu -> %lu.. "
             "(/etc/subgid %lu:%lu)%s", p->owner, p->sub_uid_count, uid1, p->sub_uid,
             p->sub_uid_count, p->sub_gid_count, gid1, p->sub_gid, p->sub_gid_count,
             p->uid == 0 ? "; as root every user-map maps the env's own range" : "");
    return 0;
}

/* As root, user-map=subids needs no range (every env gets a range of its own, idrange.c): without one the
 * step is ok and says so; with one it is tried like a user's. */
static void report_subids(void)
{
    struct probe_msg m = { .ok = 0 };
    if (plan_external_subids(&subids_plan, &m.failure) == 0) {
        run_in_child(CLONE_NEWUSER, &subids_plan, step_subids, &m);
    } else if (geteuid() == 0 && m.failure.err == ENOENT && strcmp(m.failure.syscall, "open") == 0) {
        memset(&m, 0, sizeof m);
        m.ok = 1;
        snprintf(m.detail, sizeof m.detail, "not needed as root: every user-map maps the env's own range "
                 "(root has no range in /etc/subuid, /etc/subgid)");
    }
    report("subids", &m);
}

/* newuidmap/newgidmap: where, and what lets it write maps for others (setuid root or caps). */
static int map_program_fact(const char *name, char *detail, size_t size, struct failure *f)
{
    char path[PATH_MAX];
    struct stat st;
    struct statvfs vfs;
    errno = ENOENT;
    if (!find_program(name, path, sizeof path))
        return fail(f, "uid-map", "execve", name, "user-map=subids needs it as non-root: "
                    "apt-get install uidmap");
    bool setuid_root = stat(path, &st) == 0 && st.st_uid == 0 && (st.st_mode & S_ISUID);
    bool caps = getxattr(path, "security.capability", NULL, 0) > 0;
    errno = EPERM;
    if (!setuid_root && !caps)
        return fail(f, "uid-map", "stat", path, "neither setuid root nor with file capabilities: "
                    "chmod u+s %s (or reinstall uidmap)", path);
    if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
        return fail(f, "uid-map", "statvfs", path, "its file system is mounted nosuid: "
                    "the kernel ignores its %s", setuid_root ? "setuid bit" : "capabilities");
    snprintf(detail, size, "%.200s (%s)", path, setuid_root ? "setuid root" : "file capabilities");
    return 0;
}

static void report_map_program(const char *name)
{
    struct probe_msg m = { .ok = 1 };
    m.ok = map_program_fact(name, m.detail, sizeof m.detail, &m.failure) == 0;
    if (!m.ok)
        m.detail[0] = '\0';
    report(name, &m);
}

/* ---- the AppArmor-style restriction: created, then no capability inside ---- */

static int step_userns_capabilities(char *detail, size_t size, struct failure *f)
{
    if (make_root_private(f) < 0 || step_uts(detail, size, f) < 0) {
        if (f->err == EPERM || f->err == EACCES)
            snprintf(f->hint, sizeof f->hint, "user namespaces are created but get no "
                     "capabilities: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 "
                     "(Ubuntu 24.04), or an AppArmor profile with `userns,` for the helper's path");
        return -1;
    }
    snprintf(detail, size, "mount and sethostname work in a new user namespace");
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
    struct id_map_plan plan;
    if (geteuid() != 0)
        flags |= CLONE_NEWUSER; /* as `run` does for a non-root caller */
    (void)plan_id_maps(USER_MAP_ROOT, &plan, &m.failure); /* user-map=root cannot fail */
    run_in_child(flags, maps ? &plan : NULL, fn, &m);
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
    report_map_program("newuidmap");
    report_map_program("newgidmap");
    report_subids();
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
    run_step("userns-capabilities", U | M | CLONE_NEWUTS, true, step_userns_capabilities);
    for (int c = 0; c < CG_COUNT; c++)
        report_cgroup((enum cg_controller)c);
    return 0;
}
