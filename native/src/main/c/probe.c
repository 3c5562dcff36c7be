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
 * - `container`, `seccomp`, `proc-unmasked` and `root-capabilities` name where the probe runs (a Docker, Podman or
 *   Kubernetes container, a user namespace, an AppArmor profile), a seccomp filter that refuses
 *   new namespaces (as Docker's default profile does), a /proc that a container masked and root
 *   without CAP_SYS_ADMIN (a container's root); their
 *   hints give the setting to change on each platform (docker run, a GitLab runner's config.toml,
 *   a Kubernetes securityContext).
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
#include <stdlib.h>
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
#include "idrange.h"
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
    char fix[640]; /* a hint too long for failure.hint (the per-platform settings); wins over it */
};

/* The settings that lift each container restriction, per platform. */
#define SECCOMP_FIX "a seccomp filter (Seccomp: 2 in /proc/self/status) refuses new namespaces, as Docker's " \
    "default profile refuses clone and unshare with namespace flags, mount, pivot_root and setns: docker run " \
    "--security-opt seccomp=unconfined; a GitLab runner in Docker: security_opt = [\"seccomp=unconfined\"] in " \
    "[runners.docker] of its config.toml; Kubernetes: securityContext.seccompProfile.type: Unconfined"
#define PROC_FIX "the outer /proc is masked (files and directories of it are mounted over), as containers " \
    "mask it, so no fresh /proc can be mounted (EPERM): docker run --security-opt systempaths=unconfined; a " \
    "GitLab runner in Docker: security_opt = [\"systempaths=unconfined\"] in [runners.docker] of its " \
    "config.toml; Podman: --security-opt unmask=ALL; Kubernetes: securityContext.procMount: Unmasked, which " \
    "needs hostUsers: false"
#define APPARMOR_CONTAINER_FIX "this process is confined by the AppArmor profile %s, which denies mount (as " \
    "Docker's docker-default and containerd's cri-containerd.apparmor.d do): docker run --security-opt " \
    "apparmor=unconfined; a GitLab runner in Docker: security_opt = [\"apparmor=unconfined\"] in " \
    "[runners.docker]; Kubernetes: securityContext.appArmorProfile.type: Unconfined"
#define APPARMOR_HOST_FIX "user namespaces are created but get no capabilities: sysctl -w " \
    "kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04), or an AppArmor profile with `userns,` for " \
    "the helper's path (Isolated ships one: native/apparmor/isolated-helper, see the README's GitHub Actions " \
    "section)"

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
    const char *hint = m->fix[0] ? m->fix : f->hint;
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
                   hint[0] ? ": " : "", hint);
        fflush(stdout);
        return;
    }
    printf("{");
    print_json_string("step", step, false);
    printf("\"ok\":%s,", m->ok ? "true" : "false");
    print_json_string("errno", m->ok || !f->err ? "" : errno_name(f->err), false);
    print_json_string("detail", detail, false);
    print_json_string("hint", m->ok ? "" : hint, true);
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

/* The caller's uid is the map's outside id: getuid() here is 0, the child having switched to it. */
static int step_uid_map(char *detail, size_t size, struct failure *f)
{
    (void)f;
    unsigned inside = 0, outside = 0;
    FILE *map = fopen("/proc/self/uid_map", "re");
    if (map && fscanf(map, "%u %u", &inside, &outside) == 2)
        snprintf(detail, size, "uid %u mapped to %u", outside, inside);
    if (map)
        fclose(map);
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
        return -1; /* the parent gives the hint: apparmor_fix() */
    }
    snprintf(detail, size, "mount and sethostname work in a new user namespace");
    return 0;
}


/* ---- where the probe runs: containers, seccomp, a masked /proc, AppArmor ---- */

static int seccomp_mode(void) /* the Seccomp: field of /proc/self/status; 0 when unknown */
{
    char line[128];
    int mode = 0;
    FILE *status = fopen("/proc/self/status", "re");
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "Seccomp: %d", &mode) == 1)
            break;
    if (status)
        fclose(status);
    return mode;
}

/* The AppArmor label of this process ("docker-default (enforce)"), or "" when none or unconfined. */
static void apparmor_label(char *label, size_t size)
{
    static const char *const files[] = { "/proc/self/attr/apparmor/current", "/proc/self/attr/current" };
    label[0] = '\0';
    for (int i = 0; i < 2 && !label[0]; i++) {
        int fd = open(files[i], O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, label, size - 1) : -1;
        if (fd >= 0)
            close(fd);
        label[n > 0 ? n : 0] = '\0';
        label[strcspn(label, "\n")] = '\0';
    }
    /* "unconfined", or another LSM's label (SELinux: user:role:type:level) */
    if (strcmp(label, "unconfined") == 0 || strchr(label, ':') || !strchr(label, '('))
        label[0] = '\0';
}

/* Mount points below /proc (other than binfmt_misc, which the kernel allows), space-separated. */
static void proc_masks(char *list, size_t size)
{
    char line[1024], point[512], type[64];
    size_t used = 0;
    list[0] = '\0';
    FILE *info = fopen("/proc/self/mountinfo", "re");
    while (info && fgets(line, sizeof line, info)) {
        const char *dash = strstr(line, " - ");
        if (sscanf(line, "%*s %*s %*s %*s %511s", point) != 1 || !dash || sscanf(dash, " - %63s", type) != 1)
            continue;
        if (strncmp(point, "/proc/", 6) != 0 || strcmp(type, "binfmt_misc") == 0 || strcmp(type, "autofs") == 0)
            continue;
        int n = snprintf(list + used, size - used, "%s%s", used ? " " : "", point);
        if (n < 0 || (size_t)n >= size - used) {
            snprintf(list + (size > 4 ? size - 4 : 0), size > 4 ? 4 : size, "...");
            break;
        }
        used += (size_t)n;
    }
    if (info)
        fclose(info);
}

/* Names the container (if any), the user namespace and the AppArmor profile the probe runs in. */
static void report_container(void)
{
    struct probe_msg m = { .ok = 1 };
    char label[128], where[96] = "no container found", userns[96] = "the initial user namespace";
    const char *k8s = getenv("KUBERNETES_SERVICE_HOST");
    if (k8s && *k8s)
        snprintf(where, sizeof where, "a Kubernetes pod (KUBERNETES_SERVICE_HOST is set)");
    else if (access("/.dockerenv", F_OK) == 0)
        snprintf(where, sizeof where, "a Docker container (/.dockerenv)");
    else if (access("/run/.containerenv", F_OK) == 0)
        snprintf(where, sizeof where, "a Podman container (/run/.containerenv)");
    unsigned long inside, outside, count;
    FILE *map = fopen("/proc/self/uid_map", "re");
    if (map && fscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3 && !(outside == 0 && count == 4294967295UL))
        snprintf(userns, sizeof userns, "a user namespace (uid %lu is host uid %lu, %lu ids)", inside, outside, count);
    if (map)
        fclose(map);
    apparmor_label(label, sizeof label);
    const char *ci = getenv("GITLAB_CI") ? "; GitLab CI" : getenv("GITHUB_ACTIONS") ? "; GitHub Actions" : "";
    snprintf(m.detail, sizeof m.detail, "%s, in %s; AppArmor: %s%s", where, userns,
             label[0] ? label : "none", ci);
    report("container", &m);
}

static int step_userns_only(char *detail, size_t size, struct failure *f)
{
    (void)detail, (void)size, (void)f;
    return 0;
}

/* Whether a seccomp filter refuses new namespaces: a user namespace is tried under it. */
static void report_seccomp(void)
{
    struct probe_msg m = { .ok = 1 };
    int mode = seccomp_mode();
    if (mode != 2) {
        snprintf(m.detail, sizeof m.detail, "no seccomp filter (Seccomp: %d)", mode);
    } else {
        struct id_map_plan plan;
        (void)plan_id_maps(USER_MAP_ROOT, &plan, &m.failure);
        run_in_child(CLONE_NEWUSER, &plan, step_userns_only, &m);
        if (m.ok) {
            snprintf(m.detail, sizeof m.detail, "a seccomp filter is on (Seccomp: 2); it lets user namespaces be "
                     "created");
        } else if (strcmp(m.failure.stage, "clone") == 0 && m.failure.err == EPERM) {
            snprintf(m.detail, sizeof m.detail, "clone CLONE_NEWUSER: %s", strerror(m.failure.err));
            snprintf(m.fix, sizeof m.fix, "%s", SECCOMP_FIX);
        } else {
            m.ok = 1; /* not the filter's doing: the userns and uid-map steps say why */
            snprintf(m.detail, sizeof m.detail, "a seccomp filter is on (Seccomp: 2); a user namespace fails "
                     "for another reason (see the userns and uid-map steps)");
        }
    }
    report("seccomp", &m);
}

/* Whether /proc is whole: a masked one (mounts over its files) cannot be mounted again. */
static void report_proc_masks(void)
{
    struct probe_msg m = { .ok = 1 };
    char masks[200];
    proc_masks(masks, sizeof masks);
    if (!masks[0]) {
        snprintf(m.detail, sizeof m.detail, "nothing is mounted over /proc's files");
    } else {
        m.ok = 0;
        errno = 0; /* a fact, not a failed call */
        fail(&m.failure, "mount-proc", "read", "/proc/self/mountinfo", NULL);
        snprintf(m.detail, sizeof m.detail, "masked: %s", masks);
        snprintf(m.fix, sizeof m.fix, "%s", PROC_FIX);
    }
    report("proc-unmasked", &m);
}

#define ROOT_CAPS_FIX "root without CAP_SYS_ADMIN (a container's default) can neither give the helper a mount " \
    "namespace of its own nor idmap images: docker run --cap-add SYS_ADMIN; a GitLab runner in Docker: cap_add = " \
    "[\"SYS_ADMIN\"] in [runners.docker] of its config.toml; Kubernetes: securityContext.capabilities.add: " \
    "[\"SYS_ADMIN\"] (with hostUsers: false it holds in the pod's user namespace only); or run the tests as a " \
    "user other than root (Kubernetes: runAsUser)"

/* Root needs CAP_SYS_ADMIN for what the helper does outside the environments' user namespaces (its own mount
 * namespace, idmapped images); any other user gets its capabilities from user namespaces of its own. */
static void report_root_capabilities(void)
{
    struct probe_msg m = { .ok = 1 };
    char line[128];
    unsigned long long effective = 0;
    FILE *status = fopen("/proc/self/status", "re");
    while (status && fgets(line, sizeof line, status))
        if (sscanf(line, "CapEff: %llx", &effective) == 1)
            break;
    if (status)
        fclose(status);
    if (geteuid() != 0) {
        snprintf(m.detail, sizeof m.detail, "not root: environments get their capabilities from user namespaces "
                 "of their own");
    } else if (effective & (1ULL << 21)) {
        snprintf(m.detail, sizeof m.detail, "root with CAP_SYS_ADMIN%s", real_root() ? "" : " in its user namespace");
    } else {
        m.ok = 0;
        errno = EPERM;
        fail(&m.failure, "mount-private", "read", "/proc/self/status", NULL);
        snprintf(m.detail, sizeof m.detail, "root without CAP_SYS_ADMIN (CapEff: %016llx)", effective);
        snprintf(m.fix, sizeof m.fix, "%s", ROOT_CAPS_FIX);
    }
    report("root-capabilities", &m);
}

/* The hint of a userns-capabilities failure: a container's AppArmor profile, or the host's restriction. */
static void apparmor_fix(struct probe_msg *m)
{
    char label[128];
    apparmor_label(label, sizeof label);
    if (label[0])
        snprintf(m->fix, sizeof m->fix, APPARMOR_CONTAINER_FIX, label);
    else
        snprintf(m->fix, sizeof m->fix, "%s", APPARMOR_HOST_FIX);
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
        flags |= CLONE_NEWUSER; /* a non-root caller needs one for the others */
    (void)plan_id_maps(USER_MAP_ROOT, &plan, &m.failure); /* user-map=root cannot fail */
    run_in_child(flags, maps ? &plan : NULL, fn, &m);
    if (!m.ok && strcmp(m.failure.stage, "clone") == 0 && (flags & CLONE_NEWUSER))
        snprintf(m.failure.hint, sizeof m.failure.hint, "%s", userns_hint(m.failure.err));
    if (!m.ok && strcmp(m.failure.stage, "clone") == 0 && m.failure.err == EPERM && seccomp_mode() == 2)
        snprintf(m.fix, sizeof m.fix, "%s", SECCOMP_FIX);
    if (!m.ok && strcmp(m.failure.stage, "mount-proc") == 0 && m.failure.err == EPERM)
        snprintf(m.fix, sizeof m.fix, "%s", PROC_FIX);
    if (!m.ok && fn == step_userns_capabilities && (m.failure.err == EPERM || m.failure.err == EACCES))
        apparmor_fix(&m);
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
    report_container();
    report_seccomp();
    report_proc_masks();
    report_root_capabilities();
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
