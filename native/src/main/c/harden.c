/*
 * harden.c - the last steps before execve(), in the command's own process.
 *
 * - Order: umask, rlimits, groups + gid, bounding/ambient caps, uid, session keyring, capset,
 *   no_new_privs, seccomp (the default filter, then the caller's). The bounding set is dropped
 *   while we still hold CAP_SETPCAP (before setresuid); seccomp goes last so the filter never
 *   sees the helper's own setup syscalls, and after no_new_privs so that it needs no
 *   CAP_SYS_ADMIN. Stacked filters: the kernel applies the strictest answer of both.
 * - Session keyring: every command joins a new anonymous one (after setresuid, so it is the
 *   command's user's), as the env's init does: a command forked by the helper would otherwise
 *   possess the JVM's session keyring (Kerberos, NFS, fscrypt keys of a login or CI runner).
 * - A command forked by its env's zygote (zygote.c) inherits the zygote's sets, no_new_privs and
 *   filter (apply_zygote_policy(), once) and sets only its ids (apply_command_ids()): the same
 *   process in the end, the filter's keyring exception letting it join a keyring of its own.
 * - Capabilities that a namespace the process is not in would expose (caps_removed, see
 *   caps_exposed_without()) are removed from every set, in both caps modes.
 * - caps=all (default) keeps what the environment's root has in its namespaces, like
 *   unshare(1), but for CAP_SYS_PTRACE: init runs with all of them and no seccomp filter, and
 *   a command holding a superset of init's could trace it; caps=default is Docker's list. A non-zero uid loses every capability at
 *   setresuid() anyway (no keepcaps), as with `docker run --user`.
 * - Raw prctl/capset/seccomp syscalls: no libcap, no libseccomp.
 * - Failures die() with stage `user`, `rlimit`, `caps` or `seccomp`.
 */
#include "harden.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SECCOMP_MAX_INSNS 4096

/* Docker's default capability set (moby oci/caps/defaults.go). */
static const int DOCKER_CAPS[] = {
    CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FSETID,  CAP_FOWNER,           CAP_MKNOD,
    CAP_NET_RAW, CAP_SETGID,      CAP_SETUID,  CAP_SETFCAP,          CAP_SETPCAP,
    CAP_NET_BIND_SERVICE,         CAP_SYS_CHROOT, CAP_KILL,          CAP_AUDIT_WRITE,
};

static const struct {
    const char *name;
    int resource;
} RLIMIT_NAMES[] = {
    { "core", RLIMIT_CORE },   { "nofile", RLIMIT_NOFILE }, { "nproc", RLIMIT_NPROC },
    { "cpu", RLIMIT_CPU },     { "fsize", RLIMIT_FSIZE },   { "as", RLIMIT_AS },
    { "stack", RLIMIT_STACK }, { "memlock", RLIMIT_MEMLOCK },
};

void env_policy_init(struct env_policy *p)
{
    memset(p, 0, sizeof *p);
    p->caps = CAPS_ALL;
    p->rlimits[0] = (struct rlimit_entry){ RLIMIT_CORE, { 0, 0 } };
    p->n_rlimits = 1;
}

uint64_t caps_exposed_without(bool in_mount_ns, bool in_net_ns)
{
    uint64_t exposed = 0;
    if (!in_mount_ns)
        exposed |= 1ull << CAP_SYS_CHROOT;
    if (!in_net_ns)
        exposed |= (1ull << CAP_NET_RAW) | (1ull << CAP_NET_ADMIN);
    return exposed;
}

void env_policy_free(struct env_policy *p)
{
    free(p->seccomp);
    p->seccomp = NULL;
    p->seccomp_len = 0;
}

static int parse_limit(const char *text, rlim_t *out)
{
    char *end;
    if (strcmp(text, "unlimited") == 0 || strcmp(text, "infinity") == 0) {
        *out = RLIM_INFINITY;
        return 0;
    }
    if (!text[0] || text[strspn(text, "0123456789")])
        return -1; /* digits only: strtoull takes blanks, '+' and '-' */
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = (rlim_t)v;
    return 0;
}

int env_policy_add_rlimit(struct env_policy *p, const char *text, char sep, struct failure *f)
{
    char name[32], soft[32], hard[32] = "";
    const char *a = strchr(text, sep), *b = a ? strchr(a + 1, sep) : NULL;
    errno = EINVAL;
    if (!a || (size_t)(a - text) >= sizeof name)
        return fail(f, "rlimit", "setrlimit", text, "want NAME%cSOFT%cHARD", sep, sep);
    snprintf(name, sizeof name, "%.*s", (int)(a - text), text);
    snprintf(soft, sizeof soft, "%.*s", (int)(b ? b - a - 1 : (long)strlen(a + 1)), a + 1);
    snprintf(hard, sizeof hard, "%s", b ? b + 1 : soft);
    int resource = -1;
    for (size_t i = 0; i < sizeof RLIMIT_NAMES / sizeof RLIMIT_NAMES[0]; i++)
        if (strcmp(name, RLIMIT_NAMES[i].name) == 0)
            resource = RLIMIT_NAMES[i].resource;
    struct rlimit lim;
    if (resource < 0)
        return fail(f, "rlimit", "setrlimit", name,
                    "the rlimit names are core, nofile, nproc, cpu, fsize, as, stack, memlock");
    if (parse_limit(soft, &lim.rlim_cur) < 0 || parse_limit(hard, &lim.rlim_max) < 0 ||
        lim.rlim_cur > lim.rlim_max)
        return fail(f, "rlimit", "setrlimit", text,
                    "limits are numbers or `unlimited`, and SOFT <= HARD");
    for (size_t i = 0; i < p->n_rlimits; i++) {
        if (p->rlimits[i].resource == resource) {
            p->rlimits[i].limit = lim;
            return 0;
        }
    }
    if (p->n_rlimits == MAX_RLIMITS)
        return fail(f, "rlimit", "setrlimit", text, "too many rlimits");
    p->rlimits[p->n_rlimits++] = (struct rlimit_entry){ resource, lim };
    return 0;
}

/* The whole file is the program: `struct sock_filter`s in native byte order (bwrap --seccomp). */
int env_policy_load_seccomp(struct env_policy *p, const char *path, struct failure *f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fail(f, "seccomp", "open", path, "the seccomp filter file must exist and be readable");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size, n = size / sizeof(struct sock_filter);
    if (size == 0 || size % sizeof(struct sock_filter) || n > SECCOMP_MAX_INSNS) {
        close(fd);
        errno = EINVAL;
        return fail(f, "seccomp", "read", path,
                    "the file must hold 1..4096 raw 8-byte struct sock_filter instructions");
    }
    void *prog = xmalloc(size);
    ssize_t got = read_all(fd, prog, size);
    close(fd);
    if (got != (ssize_t)size) {
        free(prog);
        return fail(f, "seccomp", "read", path, NULL);
    }
    free(p->seccomp);
    p->seccomp = prog;
    p->seccomp_len = n;
    return 0;
}

int parse_caps_mode(const char *text, enum caps_mode *out)
{
    if (strcmp(text, "all") == 0)
        *out = CAPS_ALL;
    else if (strcmp(text, "default") == 0)
        *out = CAPS_DEFAULT;
    else
        return -1;
    return 0;
}

int parse_id(const char *text, long *out)
{
    long long v;
    if (parse_integer(text, 10, 0, 4294967294LL, &v) < 0)
        return -1;
    *out = (long)v;
    return 0;
}

int parse_umask(const char *text, mode_t *out)
{
    long long v;
    if (parse_integer(text, 8, 0, 0777, &v) < 0)
        return -1;
    *out = (mode_t)v;
    return 0;
}

int parse_groups(const char *text, struct exec_policy *p)
{
    p->n_groups = 0;
    while (*text) {
        const char *comma = strchr(text, ',');
        size_t len = comma ? (size_t)(comma - text) : strlen(text);
        char id[16];
        long gid;
        if (len == 0 || len >= sizeof id || p->n_groups == MAX_SUPPLEMENTARY_GROUPS)
            return -1;
        memcpy(id, text, len);
        id[len] = '\0';
        if (parse_id(id, &gid) < 0)
            return -1;
        p->groups[p->n_groups++] = (gid_t)gid;
        text += len + (comma ? 1 : 0);
        if (comma && !*text)
            return -1;
    }
    return 0;
}

void exec_policy_init(struct exec_policy *p, const struct env_policy *env)
{
    memset(p, 0, sizeof *p);
    p->env = env;
    p->uid = p->gid = -1;
    p->umask = 022;
}

static const char *rlimit_name(int resource)
{
    for (size_t i = 0; i < sizeof RLIMIT_NAMES / sizeof RLIMIT_NAMES[0]; i++)
        if (RLIMIT_NAMES[i].resource == resource)
            return RLIMIT_NAMES[i].name;
    return "?";
}

/* "NAME HARD", the path of an rlimit's failure. */
static void rlimit_what(char *out, size_t size, const struct rlimit_entry *e)
{
    snprintf(out, size, "%s %llu", rlimit_name(e->resource), (unsigned long long)e->limit.rlim_max);
}

/* E's hard limit is above HARD, the one commands inherit: no process in a user namespace may raise it
 * (that takes CAP_SYS_RESOURCE in the host's), so the failure (with errno as it is) names HARD and
 * where to raise it. */
static int above_hard_limit(const struct rlimit_entry *e, rlim_t hard, struct failure *f)
{
    char what[48];
    int err = errno;
    rlimit_what(what, sizeof what, e);
    errno = err;
    return fail(f, "rlimit", "setrlimit", what,
                "above the JVM's hard limit, %llu, which no environment can raise (that needs "
                "CAP_SYS_RESOURCE outside every user namespace): give at most that, or raise the JVM's "
                "(ulimit -H, or LimitNOFILE= and the like of a systemd unit)",
                (unsigned long long)hard);
}

int env_policy_check_rlimits(const struct env_policy *p, rlim_t (*inherited_hard)(int resource),
                             struct failure *f)
{
    for (size_t i = 0; i < p->n_rlimits; i++) {
        const struct rlimit_entry *e = &p->rlimits[i];
        rlim_t hard = inherited_hard(e->resource);
        if (hard != RLIM_INFINITY && e->limit.rlim_max > hard) {
            errno = EPERM; /* what setrlimit() would say */
            return above_hard_limit(e, hard, f);
        }
    }
    return 0;
}

static void apply_rlimits(const struct env_policy *env)
{
    for (size_t i = 0; env && i < env->n_rlimits; i++) {
        const struct rlimit_entry *e = &env->rlimits[i];
        struct rlimit now;
        if (getrlimit(e->resource, &now) < 0)
            now.rlim_max = RLIM_INFINITY;
        if (setrlimit(e->resource, &e->limit) < 0) {
            struct failure f;
            char what[48];
            if (now.rlim_max != RLIM_INFINITY && e->limit.rlim_max > now.rlim_max) {
                above_hard_limit(e, now.rlim_max, &f);
                die_with(&f, EXIT_SETUP_FAILED);
            }
            int err = errno;
            rlimit_what(what, sizeof what, e);
            errno = err;
            die("rlimit", "setrlimit", what,
                e->resource == RLIMIT_NOFILE ? "nofile cannot exceed fs.nr_open (sysctl)" : NULL);
        }
    }
}

static void set_group(long gid, const gid_t *groups, size_t n_groups)
{
    char text[32];
    snprintf(text, sizeof text, "gid %ld", gid);
    /* Denied in an unprivileged user namespace (setgroups=deny, a rootless user-map=root or self):
     * there are no groups then, and none of the others could be mapped there anyway. */
    if (setgroups(n_groups, groups) < 0 && errno != EPERM)
        die("user", "setgroups", n_groups > 0 ? "supplementary groups" : text,
            n_groups > 0 ? "a supplementary group is not mapped in the environment's user namespace "
                           "(a rootless env maps only 0; user-map=subids maps more)"
                         : NULL);
    if (gid < 0)
        return;
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0)
        die("user", "setresgid", text,
            "%s is not mapped in the environment's user namespace (a rootless env maps only 0; "
            "user-map=subids maps more)",
            text);
}

static void set_user(long uid)
{
    char text[24];
    snprintf(text, sizeof text, "uid %ld", uid);
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
        die("user", "setresuid", text,
            "%s is not mapped in the environment's user namespace (a rootless env maps only 0; "
            "user-map=subids maps more)",
            text);
}

static uint64_t docker_caps_mask(void)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < sizeof DOCKER_CAPS / sizeof DOCKER_CAPS[0]; i++)
        mask |= 1ull << DOCKER_CAPS[i];
    return mask;
}

/* EPERM means we lack CAP_SETPCAP, i.e. hold no capabilities worth dropping; no_new_privs
 * then keeps the bounding set from mattering. EINVAL: past the kernel's last capability. */
static void drop_bounding_set(uint64_t keep)
{
    for (int cap = 0; cap < 64; cap++) {
        if (keep & (1ull << cap))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL || errno == EPERM)
                break;
            die("caps", "prctl", "PR_CAPBSET_DROP", NULL);
        }
    }
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

static void limit_cap_sets(uint64_t keep)
{
    struct __user_cap_header_struct head = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &head, data) < 0)
        die("caps", "capget", "", NULL);
    for (int i = 0; i < 2; i++) {
        uint32_t k = (uint32_t)(keep >> (32 * i));
        data[i].permitted &= k;
        data[i].effective &= k;
        data[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &head, data) < 0)
        die("caps", "capset", "", NULL);
}

void join_new_session_keyring(void)
{
    if (seccomp_join_session_keyring() < 0 && errno != ENOSYS && errno != EPERM)
        die("keyring", "keyctl", "KEYCTL_JOIN_SESSION_KEYRING",
            "EDQUOT: the user's key quota is used up (sysctl kernel.keys.maxkeys, maxbytes)");
}

static void apply_seccomp(const struct env_policy *env, enum caps_mode caps)
{
    if (env && env->profile == SECCOMP_DEFAULT) {
        const struct sock_fprog *prog = default_seccomp_program(caps == CAPS_ALL);
        if (!prog || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
            die("seccomp", "seccomp", "default filter",
                "the default filter exists for x86_64 and aarch64; elsewhere use seccomp "
                "unconfined");
    }
    if (!env || !env->seccomp)
        return;
    struct sock_fprog prog = { .len = (unsigned short)env->seccomp_len, .filter = env->seccomp };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        die("seccomp", "seccomp", "SECCOMP_SET_MODE_FILTER",
            "the kernel rejected the filter: check that it is valid cBPF for this architecture");
}

/* The capabilities a command of policy p keeps (*caps: its mode). Never SYS_PTRACE: the env's init
 * (and enter's supervisor) hold every capability of the namespace, without the seccomp filter; a
 * command that could trace them could leave its own. */
static uint64_t kept_caps(const struct exec_policy *p, enum caps_mode *caps)
{
    *caps = p->caps_given ? p->caps : p->env ? p->env->caps : CAPS_ALL;
    return (*caps == CAPS_DEFAULT ? docker_caps_mask() : ~(1ull << CAP_SYS_PTRACE)) & ~p->caps_removed;
}

static void set_no_new_privs(void)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        die("caps", "prctl", "PR_SET_NO_NEW_PRIVS", NULL);
}

void apply_exec_policy(const struct exec_policy *p)
{
    enum caps_mode caps;
    uint64_t keep = kept_caps(p, &caps);
    umask(p->umask);
    apply_rlimits(p->env);
    if (p->gid >= 0 || p->n_groups > 0)
        set_group(p->gid, p->groups, p->n_groups);
    if (keep != ~0ull)
        drop_bounding_set(keep);
    if (p->uid >= 0)
        set_user(p->uid);
    join_new_session_keyring();
    if (keep != ~0ull)
        limit_cap_sets(keep);
    set_no_new_privs();
    apply_seccomp(p->env, caps);
}

void apply_zygote_policy(const struct exec_policy *p)
{
    enum caps_mode caps;
    uint64_t keep = kept_caps(p, &caps);
    if (keep != ~0ull) {
        drop_bounding_set(keep);
        limit_cap_sets(keep);
    }
    bool joined = seccomp_join_session_keyring() == 0; /* not the helper's (the JVM's) either */
    set_no_new_privs();
    apply_seccomp(p->env, caps);
    /* Its commands join theirs through the filter's one exception: make sure it holds. */
    if (joined && seccomp_join_session_keyring() < 0)
        die("keyring", "keyctl", "KEYCTL_JOIN_SESSION_KEYRING",
            "the seccomp filter refused the helper's own call");
}

void apply_command_ids(const struct exec_policy *p)
{
    umask(p->umask);
    apply_rlimits(p->env);
    if (p->gid >= 0 || p->n_groups > 0)
        set_group(p->gid, p->groups, p->n_groups);
    if (p->uid >= 0)
        set_user(p->uid);
    join_new_session_keyring();
}
