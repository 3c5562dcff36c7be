/*
 * options.c - parsing the optional settings of an environment and of a process.
 *
 * - One parser for both front ends: the protocol's fields (parts separated by TAB) and the
 *   command line's options (parts separated by `:`).
 * - Parsing only: nothing is created here; errors carry the stage of the feature (`bind`,
 *   `tmpfs`, `rlimit`, `seccomp` (also seccomp-profile), `time`, `cgroup`, `caps`, `user`,
 *   `network`, `uid-map`).
 */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void env_options_init(struct env_options *o)
{
    memset(o, 0, sizeof *o);
    env_policy_init(&o->policy);
}

void env_options_free(struct env_options *o)
{
    for (size_t i = 0; i < o->n_mounts; i++)
        extra_mount_free(&o->mounts[i]);
    free(o->mounts);
    env_policy_free(&o->policy);
    for (size_t i = 0; i < o->n_layers; i++)
        free(o->layers[i]);
    free(o->upper_dir);
    env_options_init(o);
}

static int parse_number(const char *text, long long min, long long *out)
{
    return parse_integer(text, 10, min, LLONG_MAX, out);
}

static int add_mount(struct env_options *o, const char *key, const char *value, char sep,
                     struct failure *f)
{
    struct extra_mount m;
    int rc = strcmp(key, "tmpfs") == 0 ? parse_tmpfs(value, sep, &m, f)
                                       : parse_bind(value, sep, strcmp(key, "ro-bind") == 0, &m, f);
    if (rc < 0)
        return -1;
    o->mounts = xrealloc(o->mounts, (o->n_mounts + 1) * sizeof *o->mounts);
    o->mounts[o->n_mounts++] = m;
    return 1;
}

/* "monotonic<sep>SECONDS" or "boottime<sep>SECONDS" */
static int add_time_offset(struct env_options *o, const char *value, char sep, struct failure *f)
{
    const char *s = strchr(value, sep);
    long long secs;
    errno = EINVAL;
    if (!s || parse_number(s + 1, -(1LL << 40), &secs) < 0)
        return fail(f, "time", "timens_offsets", value,
                    "want monotonic%cSECONDS or boottime%cSECONDS, SECONDS a whole number of seconds that keeps "
                    "the clock between 0 and about 146 years", sep, sep);
    if (strncmp(value, "monotonic", (size_t)(s - value)) == 0 && s - value == 9)
        o->monotonic_offset = secs;
    else if (strncmp(value, "boottime", (size_t)(s - value)) == 0 && s - value == 8)
        o->boottime_offset = secs;
    else
        return fail(f, "time", "timens_offsets", value, "only monotonic and boottime can be "
                    "offset (CLOCK_REALTIME is never namespaced)");
    o->time_offsets = true;
    return 1;
}

/* A number of bytes, with an optional binary suffix k, m or g. */
static int parse_bytes(const char *text, long long *out)
{
    char digits[32];
    size_t n = strlen(text);
    int shift = 0;
    if (n > 0 && n < sizeof digits && strchr("kKmMgG", text[n - 1])) {
        shift = strchr("kK", text[n - 1]) ? 10 : strchr("mM", text[n - 1]) ? 20 : 30;
        snprintf(digits, sizeof digits, "%.*s", (int)(n - 1), text);
        text = digits;
    }
    if (parse_number(text, 1, out) < 0 || *out > (1LL << (62 - shift)))
        return -1;
    *out <<= shift;
    return 0;
}

static int set_cgroup_limit(struct env_options *o, const char *key, const char *value, char sep,
                            struct failure *f)
{
    long long a = 0, b = 100000;
    const char *s = strchr(value, sep);
    char first[32];
    snprintf(first, sizeof first, "%.*s", (int)(s ? s - value : (long)strlen(value)), value);
    errno = EINVAL;
    if (strcmp(key, "cgroup") == 0) {
        o->limits.wanted = strcmp(value, "true") == 0;
        return 1;
    }
    bool bytes = strcmp(key, "memory-max") == 0;
    if ((bytes ? parse_bytes(first, &a) : parse_number(first, 1, &a)) < 0 ||
        (s && parse_number(s + 1, 1000, &b) < 0))
        return fail(f, "cgroup", key, value, "%s", strcmp(key, "cpu-max") == 0
                    ? "want QUOTA_US<sep>PERIOD_US (positive; period >= 1000)"
                    : "want a positive number");
    if (strcmp(key, "memory-max") == 0)
        o->limits.memory_max = (unsigned long long)a;
    else if (strcmp(key, "pids-max") == 0)
        o->limits.pids_max = a;
    else {
        o->limits.cpu_quota_us = a;
        o->limits.cpu_period_us = b;
    }
    return 1;
}

static int set_network(struct env_options *o, const char *value, struct failure *f)
{
    errno = EINVAL;
    if (!network_name_valid(value))
        return fail(f, "network", "network", value, "a network name is [a-z0-9-]{1,15}");
    snprintf(o->network, sizeof o->network, "%s", value);
    return 1;
}

/* layer=DIR, upper-dir=DIR (absolute paths), upper-size=BYTES[kmg] or PERCENT% */
static int set_layer_option(struct env_options *o, const char *key, const char *value,
                            struct failure *f)
{
    errno = EINVAL;
    if (strcmp(key, "upper-size") == 0) {
        long long v;
        size_t n = strlen(value);
        char pct[32];
        snprintf(pct, sizeof pct, "%.*s", n > 0 && n < sizeof pct ? (int)n - 1 : 0, value);
        bool ok = n > 0 && value[n - 1] == '%' ? parse_number(pct, 1, &v) == 0 && v <= 100
                                                 : parse_bytes(value, &v) == 0;
        if (!ok || n >= sizeof o->upper_size)
            return fail(f, "mount-rootfs", "upper-size", value,
                        "upper-size is a number of bytes (suffix k, m or g) or a percentage of RAM (1%% to 100%%)");
        snprintf(o->upper_size, sizeof o->upper_size, "%s", value);
        return 1;
    }
    if (value[0] != '/')
        return fail(f, "mount-rootfs", key, value, "%s= must be an absolute path", key);
    if (strcmp(key, "upper-dir") == 0) {
        free(o->upper_dir);
        o->upper_dir = xstrdup(value);
    } else if (o->n_layers >= MAX_LAYERS) {
        return fail(f, "mount-rootfs", "layer", value, "at most %d layers", MAX_LAYERS);
    } else {
        o->layers[o->n_layers++] = xstrdup(value);
    }
    return 1;
}

int env_options_apply(struct env_options *o, const char *key, const char *value, char sep,
                      struct failure *f)
{
    if (strcmp(key, "layer") == 0 || strcmp(key, "upper-dir") == 0 ||
        strcmp(key, "upper-size") == 0)
        return set_layer_option(o, key, value, f);
    if (strcmp(key, "network") == 0)
        return set_network(o, value, f);
    if (strcmp(key, "bind") == 0 || strcmp(key, "ro-bind") == 0 || strcmp(key, "tmpfs") == 0)
        return add_mount(o, key, value, sep, f);
    if (strcmp(key, "readonly-root") == 0) {
        o->readonly_root = strcmp(value, "true") == 0;
        return 1;
    }
    if (strcmp(key, "user-map") == 0) {
        errno = EINVAL;
        if (parse_user_map(value, &o->user_map) < 0)
            return fail(f, "uid-map", "user-map", value, "user-map is root, self or subids");
        return 1;
    }
    if (strcmp(key, "caps") == 0) {
        errno = EINVAL;
        if (parse_caps_mode(value, &o->policy.caps) < 0)
            return fail(f, "caps", "capset", value, "caps is `all` or `default` (Docker's set)");
        return 1;
    }
    if (strcmp(key, "rlimit") == 0)
        return env_policy_add_rlimit(&o->policy, value, sep, f) < 0 ? -1 : 1;
    if (strcmp(key, "seccomp") == 0)
        return env_policy_load_seccomp(&o->policy, value, f) < 0 ? -1 : 1;
    if (strcmp(key, "seccomp-profile") == 0) {
        errno = EINVAL;
        if (parse_seccomp_profile(value, &o->policy.profile) < 0)
            return fail(f, "seccomp", "seccomp", value,
                        "seccomp-profile is `default` or `unconfined`");
        return 1;
    }
    if (strcmp(key, "time-offset") == 0)
        return add_time_offset(o, value, sep, f);
    if (strcmp(key, "memory-max") == 0 || strcmp(key, "pids-max") == 0 ||
        strcmp(key, "cpu-max") == 0 || strcmp(key, "cgroup") == 0)
        return set_cgroup_limit(o, key, value, sep, f);
    return 0;
}

void env_options_to_spec(const struct env_options *o, struct env_spec *spec)
{
    spec->mounts = o->mounts;
    spec->n_mounts = o->n_mounts;
    spec->readonly_root = o->readonly_root;
    spec->user_map = o->user_map;
    spec->time_offsets = o->time_offsets;
    spec->monotonic_offset = o->monotonic_offset;
    spec->boottime_offset = o->boottime_offset;
    spec->limits = &o->limits;
    spec->layers = (const char *const *)o->layers;
    spec->n_layers = o->n_layers;
    spec->upper_dir = o->upper_dir;
    spec->tmpfs_size = o->upper_size[0] ? o->upper_size : NULL;
}

void env_options_take_policy(struct env_options *o, struct env *env)
{
    env_policy_free(&env->policy);
    env->policy = o->policy;
    env_policy_init(&o->policy);
}

int exec_options_apply(struct exec_policy *p, const char *key, const char *value,
                       struct failure *f)
{
    errno = EINVAL;
    if (strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0) {
        if (parse_id(value, strcmp(key, "uid") == 0 ? &p->uid : &p->gid) < 0)
            return fail(f, "user", key, value, "%s is a number", key);
        return 1;
    }
    if (strcmp(key, "groups") == 0) {
        if (parse_groups(value, p) < 0)
            return fail(f, "user", "setgroups", value,
                        "groups is a comma-separated list of at most %d numeric gids",
                        MAX_SUPPLEMENTARY_GROUPS);
        return 1;
    }
    if (strcmp(key, "umask") == 0) {
        if (parse_umask(value, &p->umask) < 0)
            return fail(f, "user", "umask", value, "the umask is octal, e.g. 022");
        return 1;
    }
    if (strcmp(key, "caps") == 0) {
        if (parse_caps_mode(value, &p->caps) < 0)
            return fail(f, "caps", "capset", value, "caps is `all` or `default` (Docker's set)");
        p->caps_given = true;
        return 1;
    }
    return 0;
}
