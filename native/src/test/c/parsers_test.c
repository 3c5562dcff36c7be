/*
 * parsers_test.c - unit tests of the helper's parsers: namespace lists (--ns, ns=, join=), bind and tmpfs
 * specs (--bind/--ro-bind/--tmpfs, bind=/ro-bind=/tmpfs=), protocol frames and records, ports (port=), and the
 * kind of a CREATE whose settings contradict each other, the default seccomp filter's one keyring exception, WRITE's
 * and READ's fields, and opening a file inside a root (openat2 and the walk that stands in for it), a caller's
 * O_NOFOLLOW kept.
 *
 * Built with both sanitizers and run by `build.sh unit-tests` (Maven's test phase); prints each failed
 * check and exits 1 when any failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binds.h"
#include "env.h"
#include "envfiles.h"
#include "forward.h"
#include "harden.h"
#include "proto.h"
#include "util.h"

static int checks, failed;

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        checks++;                                                                           \
        if (!(cond)) {                                                                      \
            failed++;                                                                       \
            fprintf(stderr, "%s:%d: %s: failed: %s\n", __FILE__, __LINE__, __func__, #cond); \
        }                                                                                   \
    } while (0)

#define CHECK_STR(actual, expected) CHECK((actual) != NULL && strcmp((actual), (expected)) == 0)

/* ---- namespace lists ---- */

static void ns_list_names_every_namespace(void)
{
    unsigned bits = 0;
    char bad[32] = "";
    CHECK(parse_ns_list("user,pid,mount,uts,ipc,net,cgroup,time", &bits, bad, sizeof bad) == 0);
    CHECK(bits == (NS_BIT(NS_USER) | NS_BIT(NS_PID) | NS_BIT(NS_MOUNT) | NS_BIT(NS_UTS) | NS_BIT(NS_IPC) |
                   NS_BIT(NS_NET) | NS_BIT(NS_CGROUP) | NS_BIT(NS_TIME)));
    CHECK(parse_ns_list("pid", &bits, bad, sizeof bad) == 0);
    CHECK(bits == NS_BIT(NS_PID));
    CHECK(parse_ns_list("net,uts", &bits, bad, sizeof bad) == 0);
    CHECK(bits == (NS_BIT(NS_NET) | NS_BIT(NS_UTS)));
}

static void ns_list_takes_proc_names_repeats_and_empty_words(void)
{
    unsigned bits = 0;
    char bad[32] = "";
    CHECK(parse_ns_list("mnt", &bits, bad, sizeof bad) == 0); /* /proc/PID/ns/mnt */
    CHECK(bits == NS_BIT(NS_MOUNT));
    CHECK(parse_ns_list("pid,,pid,", &bits, bad, sizeof bad) == 0);
    CHECK(bits == NS_BIT(NS_PID));
    bits = 123;
    CHECK(parse_ns_list("", &bits, bad, sizeof bad) == 0);
    CHECK(bits == 0);
}

static void ns_list_names_the_bad_word(void)
{
    unsigned bits = 77;
    char bad[32] = "";
    CHECK(parse_ns_list("pid,network,mount", &bits, bad, sizeof bad) == -1);
    CHECK_STR(bad, "network");
    CHECK(bits == 77); /* untouched */
    CHECK(parse_ns_list("PID", &bits, bad, sizeof bad) == -1); /* names are lower case */
    CHECK_STR(bad, "PID");
    char small[4];
    CHECK(parse_ns_list("user,namespace", &bits, small, sizeof small) == -1);
    CHECK_STR(small, "nam"); /* cut to the buffer, still terminated */
}

/* ---- bind and tmpfs specs ---- */

static void bind_takes_source_target_and_mode(void)
{
    struct extra_mount m;
    struct failure f;
    CHECK(parse_bind("/host/dir:/in/env", ':', false, &m, &f) == 0);
    CHECK(m.kind == 'b');
    CHECK_STR(m.src, "/host/dir");
    CHECK_STR(m.dst, "/in/env");
    CHECK(!m.ro);
    CHECK(m.tree_fd == 0);
    extra_mount_free(&m);
    CHECK(m.src == NULL && m.dst == NULL);

    CHECK(parse_bind("/a:/b", ':', true, &m, &f) == 0); /* ro-bind */
    CHECK(m.ro);
    extra_mount_free(&m);
    CHECK(parse_bind("/a:/b:rw", ':', true, &m, &f) == 0);
    CHECK(!m.ro);
    extra_mount_free(&m);
    CHECK(parse_bind("/a:/b:ro", ':', false, &m, &f) == 0);
    CHECK(m.ro);
    CHECK_STR(m.dst, "/b");
    extra_mount_free(&m);

    /* the protocol's separator is TAB: a ':' is then part of a path */
    CHECK(parse_bind("/with:colon\t/dst:x\tro", '\t', false, &m, &f) == 0);
    CHECK_STR(m.src, "/with:colon");
    CHECK_STR(m.dst, "/dst:x");
    CHECK(m.ro);
    extra_mount_free(&m);
}

static void bind_refuses_missing_parts_and_bad_modes(void)
{
    static const char *const malformed[] = { "/only-source", ":/dst", "/src:", "/src::ro", "" };
    struct extra_mount m;
    struct failure f;
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        errno = 0;
        CHECK(parse_bind(malformed[i], ':', false, &m, &f) == -1);
        CHECK(f.err == EINVAL);
        CHECK_STR(f.stage, "bind");
        CHECK_STR(f.path, malformed[i]);
        CHECK_STR(f.hint, "want SRC:DST:ro|rw");
    }
    CHECK(parse_bind("/a\t/b", '\t', false, &m, &f) == 0);
    extra_mount_free(&m);
    CHECK(parse_bind("/a:/b", '\t', false, &m, &f) == -1); /* no TAB */
    CHECK_STR(f.hint, "want SRC\tDST\tro|rw");

    static const char *const bad_modes[] = { "/a:/b:", "/a:/b:RO", "/a:/b:ro:", "/a:/b:rwx", "/a:/b:ro:rw" };
    for (size_t i = 0; i < sizeof bad_modes / sizeof *bad_modes; i++) {
        CHECK(parse_bind(bad_modes[i], ':', false, &m, &f) == -1);
        CHECK(f.err == EINVAL);
        CHECK_STR(f.hint, "the bind mode must be ro or rw");
    }
}

static void tmpfs_takes_target_size_and_mode(void)
{
    struct extra_mount m;
    struct failure f;
    CHECK(parse_tmpfs("/scratch", ':', &m, &f) == 0);
    CHECK(m.kind == 't');
    CHECK_STR(m.dst, "/scratch");
    CHECK(m.src == NULL);
    CHECK(m.size == 0);     /* the kernel's default */
    CHECK(m.mode == 01777); /* like /tmp */
    extra_mount_free(&m);

    CHECK(parse_tmpfs("/scratch:1048576", ':', &m, &f) == 0);
    CHECK(m.size == 1048576);
    CHECK(m.mode == 01777);
    extra_mount_free(&m);

    CHECK(parse_tmpfs("/s\t4096\t0700", '\t', &m, &f) == 0);
    CHECK_STR(m.dst, "/s");
    CHECK(m.size == 4096);
    CHECK(m.mode == 0700);
    extra_mount_free(&m);

    CHECK(parse_tmpfs("/s:0:7777", ':', &m, &f) == 0);
    CHECK(m.mode == 07777);
    extra_mount_free(&m);
}

static void tmpfs_refuses_bad_sizes_modes_and_targets(void)
{
    struct extra_mount m;
    struct failure f;
    static const char *const bad_sizes[] = { "/s:", "/s::700", "/s:lots", "/s:10x", "/s:10x:700",
                                                     "/s:-1", "/s:+10", "/s: 10", "/s:-1:700",
                                                     "/s:99999999999999999999" };
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        CHECK(parse_tmpfs(bad_sizes[i], ':', &m, &f) == -1);
        CHECK(f.err == EINVAL);
        CHECK_STR(f.stage, "tmpfs");
        CHECK_STR(f.path, bad_sizes[i]);
        CHECK_STR(f.hint, "the tmpfs size is a number of bytes");
    }
    static const char *const bad_modes[] = { "/s:10:", "/s:10:800", "/s:10:17777", "/s:10:-1", "/s:10:7x",
                                               "/s:10:-0", "/s:10:+7", "/s:10: 7" };
    for (size_t i = 0; i < sizeof bad_modes / sizeof *bad_modes; i++) {
        CHECK(parse_tmpfs(bad_modes[i], ':', &m, &f) == -1);
        CHECK_STR(f.hint, "the tmpfs mode is octal, e.g. 1777");
    }
    CHECK(parse_tmpfs("", ':', &m, &f) == -1);
    CHECK_STR(f.hint, "want DST:SIZE_BYTES:MODE_OCTAL");
    CHECK(parse_tmpfs(":4096", ':', &m, &f) == -1);
    CHECK_STR(f.hint, "want DST:SIZE_BYTES:MODE_OCTAL");
}

/* ---- numbers (--pid, --uid, --umask, limits, UNSHIFT...) ---- */

static void integers_are_digits_only_and_in_range(void)
{
    long long v = -7;
    CHECK(parse_integer("42", 10, 1, 100, &v) == 0 && v == 42);
    CHECK(parse_integer("0", 10, 0, 0, &v) == 0 && v == 0);
    CHECK(parse_integer("-3600", 10, -3600, 0, &v) == 0 && v == -3600);
    CHECK(parse_integer("0755", 8, 0, 0777, &v) == 0 && v == 0755);
    CHECK(parse_integer("4294967295", 10, 0, 0xffffffffLL, &v) == 0 && v == 0xffffffffLL);
    v = 5;
    static const char *const bad[] = { "", "abc", "12x", "x12", " 12", "12 ", "+12", "-12", "-", "1-2",
                                       "0x10", "12.0", "101", "99999999999999999999", "-0" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errno = 0;
        CHECK(parse_integer(bad[i], 10, 0, 100, &v) == -1);
        CHECK(errno == EINVAL);
        CHECK(v == 5); /* untouched */
    }
    CHECK(parse_integer("-101", 10, -100, 100, &v) == -1);
    CHECK(parse_integer("--1", 10, -100, 100, &v) == -1);
    CHECK(parse_integer("8", 8, 0, 0777, &v) == -1); /* not octal */
    CHECK(parse_integer("-1", 8, 0, 0777, &v) == -1);
}

static void ids_umasks_and_rlimits_are_strict(void)
{
    long id = 9;
    mode_t mask = 0;
    CHECK(parse_id("1000", &id) == 0 && id == 1000);
    CHECK(parse_id("-1", &id) == -1 && parse_id(" 1", &id) == -1 && parse_id("+1", &id) == -1);
    CHECK(parse_id("4294967295", &id) == -1); /* (uid_t)-1 means "unchanged" to setresuid */
    CHECK(parse_umask("027", &mask) == 0 && mask == 027);
    CHECK(parse_umask("-0", &mask) == -1 && parse_umask(" 22", &mask) == -1 && parse_umask("1000", &mask) == -1);
    struct env_policy p;
    struct failure f;
    env_policy_init(&p);
    CHECK(env_policy_add_rlimit(&p, "nofile:1024:4096", ':', &f) == 0);
    static const char *const bad[] = { "nofile: 1024", "nofile:+1024", "nofile:-1", "nofile:1024:-1",
                                       "nofile:1k", "nofile:" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(env_policy_add_rlimit(&p, bad[i], ':', &f) == -1);
        CHECK_STR(f.stage, "rlimit");
    }
    env_policy_free(&p);
}

/* ---- frames and records ---- */

static size_t put_frame(char *out, uint32_t length, char type, uint32_t id, const char *payload, size_t len)
{
    out[0] = (char)(length >> 24), out[1] = (char)(length >> 16), out[2] = (char)(length >> 8);
    out[3] = (char)length, out[4] = type;
    out[5] = (char)(id >> 24), out[6] = (char)(id >> 16), out[7] = (char)(id >> 8), out[8] = (char)id;
    memcpy(out + 9, payload, len);
    return 9 + len;
}

/* Writes BYTES into a pipe and reads them into R (one reader_fill()). */
static void feed(struct frame_reader *r, const char *bytes, size_t len)
{
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write_all(p[1], bytes, len) == 0);
    close(p[1]);
    CHECK(reader_fill(r, p[0]) == (ssize_t)len);
    CHECK(reader_fill(r, p[0]) == 0); /* EOF */
    close(p[0]);
}

static void frames_are_split_from_the_stream(void)
{
    struct frame_reader r = { 0 };
    struct frame fr = { 0 };
    char bytes[64];
    size_t n = put_frame(bytes, 5 + 3, 'C', 0x01020304, "a=1", 3);
    n += put_frame(bytes + n, 5, 'L', 7, "", 0);
    feed(&r, bytes, n);
    CHECK(reader_next(&r, &fr) == 1);
    CHECK(fr.type == 'C');
    CHECK(fr.id == 0x01020304);
    CHECK(fr.len == 3);
    CHECK(fr.payload != NULL && memcmp(fr.payload, "a=1", 4) == 0); /* NUL-terminated */
    free(fr.payload);
    CHECK(reader_next(&r, &fr) == 1);
    CHECK(fr.type == 'L' && fr.id == 7 && fr.len == 0 && fr.payload[0] == '\0');
    free(fr.payload);
    CHECK(reader_next(&r, &fr) == 0); /* nothing left */
    free(r.buf);
}

static void a_frame_waits_for_all_its_bytes(void)
{
    struct frame_reader r = { 0 };
    struct frame fr = { 0 };
    char bytes[64];
    size_t n = put_frame(bytes, 5 + 10, 'S', 2, "proc=1\0x=2", 10);
    feed(&r, bytes, 3); /* not even the length */
    CHECK(reader_next(&r, &fr) == 0);
    feed(&r, bytes + 3, 8); /* the header, part of the payload */
    CHECK(reader_next(&r, &fr) == 0);
    feed(&r, bytes + 11, n - 11);
    CHECK(reader_next(&r, &fr) == 1);
    CHECK(fr.type == 'S' && fr.id == 2 && fr.len == 10 && memcmp(fr.payload, "proc=1\0x=2", 11) == 0);
    free(fr.payload);
    CHECK(r.len == 0);
    free(r.buf);
}

static void a_length_under_five_loses_the_framing(void)
{
    for (uint32_t length = 0; length < 5; length++) {
        struct frame_reader r = { 0 };
        struct frame fr = { 0 };
        char bytes[16] = { 0 };
        bytes[3] = (char)length;
        feed(&r, bytes, sizeof bytes);
        CHECK(reader_next(&r, &fr) == -1);
        free(r.buf);
    }
}

static void an_oversized_frame_is_named_and_skipped(void)
{
    struct frame_reader r = { 0 };
    struct frame fr = { 0 };
    size_t big = FRAME_MAX + 1; /* payload bytes: the frame's length is FRAME_MAX + 6 */
    char *bytes = xmalloc(9 + big + 9 + 3);
    memset(bytes, 'x', 9 + big);
    size_t n = put_frame(bytes, (uint32_t)(5 + big), 'E', 42, "", 0) + big;
    n += put_frame(bytes + n, 5 + 3, 'P', 43, "a=b", 3);

    feed(&r, bytes, 8); /* the header is incomplete: not known yet */
    CHECK(reader_next(&r, &fr) == 0);
    feed(&r, bytes + 8, 60000);
    CHECK(reader_next(&r, &fr) == 2);
    CHECK(fr.type == 'E' && fr.id == 42 && fr.len == big && fr.payload == NULL);
    CHECK(r.len == 0); /* what came is discarded, never buffered */
    size_t at = 8 + 60000;
    int rc = 0;
    while (at < n) { /* the rest comes in pieces (a pipe holds 64 KiB), the next frame with the last */
        size_t piece = n - at < 65536 ? n - at : 65536;
        feed(&r, bytes + at, piece);
        at += piece;
        rc = reader_next(&r, &fr);
        CHECK(rc == (at == n ? 1 : 0));
        CHECK(r.len <= 9 + 3);
    }
    CHECK(rc == 1);
    CHECK(fr.type == 'P' && fr.id == 43 && strcmp(fr.payload, "a=b") == 0);
    free(fr.payload);
    free(bytes);
    free(r.buf);
}

static void records_are_key_value_strings(void)
{
    static const char payload[] = "env=3\0bind=/a\t/b\0no-equals-sign\0bind=/c\t/d\0cmd=x=y\0empty=";
    struct frame fr = { .type = 'C', .id = 1, .len = sizeof payload - 1 };
    fr.payload = xmalloc(fr.len + 1);
    memcpy(fr.payload, payload, fr.len + 1);
    struct record rec;
    record_parse(&fr, &rec);
    CHECK(rec.count == 5); /* the entry without '=' is skipped */
    CHECK_STR(record_get(&rec, "env"), "3");
    CHECK_STR(record_get(&rec, "bind"), "/a\t/b"); /* the first */
    CHECK_STR(record_get(&rec, "cmd"), "x=y");      /* split at the first '=' */
    CHECK_STR(record_get(&rec, "empty"), "");
    CHECK(record_get(&rec, "missing") == NULL);
    CHECK(record_get(&rec, "no-equals-sign") == NULL);
    size_t count = 0;
    char **binds = record_all(&rec, "bind", &count);
    CHECK(count == 2);
    CHECK_STR(binds[0], "/a\t/b");
    CHECK_STR(binds[1], "/c\t/d");
    CHECK(binds[2] == NULL);
    free(binds);
    char **none = record_all(&rec, "missing", &count);
    CHECK(count == 0 && none[0] == NULL);
    free(none);
    record_free(&rec);
    CHECK(rec.count == 0 && rec.keys == NULL);
    free(fr.payload);
}

static void sent_records_read_back(void)
{
    int p[2];
    CHECK(pipe(p) == 0);
    struct writer w = { .fd = p[1] };
    struct record_builder rb = { 0 };
    record_add(&rb, "pid", "%d", 1234);
    record_add(&rb, "path", "%s", "/a b/c");
    send_record(&w, 'c', 9, &rb);
    CHECK(rb.data == NULL && rb.len == 0);
    struct failure f;
    errno = ENOENT;
    fail(&f, "bind", "open", "/missing", "no such file");
    send_failure(&w, 10, &f);
    close(p[1]);

    struct frame_reader r = { 0 };
    struct frame fr = { 0 };
    while (reader_fill(&r, p[0]) > 0)
        continue;
    close(p[0]);
    CHECK(reader_next(&r, &fr) == 1);
    CHECK(fr.type == 'c' && fr.id == 9);
    struct record rec;
    record_parse(&fr, &rec);
    CHECK(rec.count == 2);
    CHECK_STR(record_get(&rec, "pid"), "1234");
    CHECK_STR(record_get(&rec, "path"), "/a b/c");
    record_free(&rec);
    free(fr.payload);

    CHECK(reader_next(&r, &fr) == 1);
    CHECK(fr.type == 'E' && fr.id == 10);
    record_parse(&fr, &rec);
    CHECK_STR(record_get(&rec, "stage"), "bind");
    CHECK_STR(record_get(&rec, "syscall"), "open");
    CHECK_STR(record_get(&rec, "path"), "/missing");
    CHECK_STR(record_get(&rec, "errno"), "2");
    CHECK_STR(record_get(&rec, "errname"), "ENOENT");
    CHECK_STR(record_get(&rec, "message"), "open /missing: No such file or directory");
    CHECK_STR(record_get(&rec, "hint"), "no such file");
    record_free(&rec);
    free(fr.payload);
    CHECK(reader_next(&r, &fr) == 0);
    free(r.buf);
}

/* ---- settings that contradict each other ---- */

static void settings_no_host_can_satisfy_are_the_tests_fault(void)
{
    struct failure f;
    struct env_spec spec = { 0 };
    spec.ns = NS_BIT(NS_PID) | NS_BIT(NS_MOUNT);
    spec.hostname = "x";
    CHECK(env_check_spec(&spec, &f) == -1);
    CHECK_STR(f.stage, "hostname");
    CHECK(f.err == EINVAL);
    CHECK_STR(f.hint, "a hostname needs the uts namespace");
    CHECK(failure_kind(&f) == KIND_TEST); /* not host: EINVAL at stage hostname is the host's otherwise */

    spec.ns |= NS_BIT(NS_UTS);
    CHECK(env_check_spec(&spec, &f) == 0);

    spec.ns = NS_BIT(NS_PID) | NS_BIT(NS_UTS);
    spec.readonly_root = true;
    CHECK(env_check_spec(&spec, &f) == -1);
    CHECK_STR(f.stage, "readonly-root");
    CHECK(failure_kind(&f) == KIND_TEST);

    spec.readonly_root = false;
    spec.tmpfs_size = "1m";
    CHECK(env_check_spec(&spec, &f) == -1);
    CHECK_STR(f.stage, "mount-rootfs");
    CHECK(failure_kind(&f) == KIND_TEST); /* EINVAL at mount-rootfs is the host's otherwise */

    /* the same stage and errno from a syscall the host refused stays the host's */
    errno = EINVAL;
    fail(&f, "hostname", "sethostname", "x", NULL);
    CHECK(failure_kind(&f) == KIND_HOST);

    /* a /proc of another PID namespace is the host's: the test fails as "This host cannot ..." */
    errno = EINVAL;
    fail(&f, "proc", "readlink", "/proc/self", NULL);
    CHECK(failure_kind(&f) == KIND_HOST);
}

/* ---- hints ---- */

static void out_of_fds_is_the_hint_whatever_the_step(void)
{
    struct failure f;
    const char *fds = "the helper reached its limit of open files: close environments, or raise the "
                      "JVM's limit (ulimit -n, LimitNOFILE= in a systemd unit)";
    errno = EMFILE;
    fail(&f, "uid-map", "open", "/proc/1/uid_map", NULL); /* its stage's hint otherwise */
    CHECK_STR(f.hint, fds);
    errno = EMFILE;
    fail(&f, "bind", "open_tree", "/src", "a hint of %s own", "its");
    CHECK_STR(f.hint, fds);
    errno = ENFILE;
    fail(&f, "overlay", "mount", "overlay", NULL);
    CHECK_STR(f.hint, "the system's limit of open files is reached (sysctl fs.file-max)");
    errno = ENOENT;
    fail(&f, "bind", "open_tree", "/src", "a hint of %s own", "its");
    CHECK_STR(f.hint, "a hint of its own");
    CHECK(f.err == ENOENT);
}

static void clone_hints_say_why(void)
{
    struct failure f;
    errno = ENOSPC;
    fail(&f, "clone", "clone3", "", NULL);
    CHECK(strstr(f.hint, "a limit on namespaces is reached: sysctl user.max_user_namespaces") == f.hint);
    errno = EPERM;
    fail(&f, "clone", "clone3", "", NULL);
    if (geteuid() == 0) /* root is refused by a container, never for being no root */
        CHECK(strstr(f.hint, "the host refuses new namespaces even to root") == f.hint);
    else
        CHECK(strstr(f.hint, "namespaces need root, or user namespaces must be enabled") == f.hint);
}

/* ---- ports ---- */

static void ports_are_1_to_65535(void)
{
    struct failure f;
    CHECK(parse_port("1", &f) == 1);
    CHECK(parse_port("8080", &f) == 8080);
    CHECK(parse_port("65535", &f) == 65535);
    CHECK(parse_port("0080", &f) == 80); /* plain decimal digits, leading zeros too */
    static const char *const bad[] = { "0", "65536", "-1", "", "80x", "x80", "4294967377", "99999999999999999999",
                                       " 80", "  80", "\t80", "\n80", "+80", "+0", "80 ", "8 0", "-0", "0x50",
                                       "00000" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errno = 0;
        CHECK(parse_port(bad[i], &f) == -1);
        CHECK(f.err == EINVAL);
        CHECK_STR(f.stage, "forward");
        CHECK_STR(f.path, bad[i]);
        CHECK_STR(f.hint, "port= must be a TCP port, 1..65535");
    }
    CHECK(parse_port(NULL, &f) == -1); /* port= missing */
    CHECK_STR(f.path, "");
    CHECK_STR(f.hint, "port= must be a TCP port, 1..65535");
}

/* ---- the default filter's keyring exception (a command forked by a zygote joins its own keyring) ---- */

/* In a child under the default filter (all_caps or Docker's set): bit 0 the helper's own join failed,
 * bit 1 the same call made elsewhere was not refused with EPERM, bit 2 another keyctl was not. */
static int keyring_calls_under_the_filter(bool all_caps)
{
    pid_t child = fork();
    if (child == 0) {
        const struct sock_fprog *prog = default_seccomp_program(all_caps);
        if (!prog || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0)
            _exit(64);
        int result = 0;
        if (seccomp_join_session_keyring() < 0)
            result |= 1;
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL, 0, 0, 0) >= 0 || errno != EPERM)
            result |= 2;
        if (syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) >= 0 || errno != EPERM)
            result |= 4;
        _exit(result);
    }
    int status = -1;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void the_filter_lets_only_the_helpers_own_keyring_join_through(void)
{
    CHECK(keyring_calls_under_the_filter(false) == 0);
    CHECK(keyring_calls_under_the_filter(true) == 0);
}

/* ---- WRITE ---- */

static int parse_write(const char *payload, size_t len, struct env_write *w, struct failure *f)
{
    struct frame frame = { .type = 'W', .id = 1, .len = len, .payload = xmalloc(len + 1) };
    memcpy(frame.payload, payload, len + 1);
    struct record rec;
    record_parse(&frame, &rec);
    int rc = parse_env_write(&rec, w, f);
    w->path = NULL; /* borrowed from the record, gone below */
    w->link = NULL;
    record_free(&rec);
    free(frame.payload);
    return rc;
}

#define PARSE_WRITE(text, w, f) parse_write(text, sizeof text - 1, w, f)

static void write_fields_are_checked(void)
{
    struct env_write w;
    struct failure f;
    CHECK(PARSE_WRITE("env=1\0path=/etc/x\0size=12\0", &w, &f) == 0);
    CHECK(w.type == 'f' && w.mode == 0644 && !w.parents && w.size == 12);
    CHECK(PARSE_WRITE("path=/d\0type=dir\0parents=true\0", &w, &f) == 0);
    CHECK(w.type == 'd' && w.mode == 0755 && w.parents);
    CHECK(PARSE_WRITE("path=/l\0type=symlink\0link=target\0", &w, &f) == 0);
    CHECK(w.type == 'l');
    CHECK(PARSE_WRITE("path=/f\0mode=600\0", &w, &f) == 0 && w.mode == 0600);
    CHECK(PARSE_WRITE("path=relative\0", &w, &f) < 0 && f.err == EINVAL && strcmp(f.stage, "request") == 0);
    CHECK(PARSE_WRITE("path=/x\0type=fifo\0", &w, &f) < 0);
    CHECK(PARSE_WRITE("path=/x\0mode=9\0", &w, &f) < 0);
    CHECK(PARSE_WRITE("path=/x\0type=symlink\0", &w, &f) < 0);
    CHECK(PARSE_WRITE("path=/x\0parents=yes\0", &w, &f) < 0);
    CHECK(PARSE_WRITE("path=/x\0size=-1\0", &w, &f) < 0);
    CHECK(PARSE_WRITE("path=/x\0type=dir\0size=1\0", &w, &f) < 0);
}

/* ---- READ ---- */

static int parse_read(const char *payload, size_t len, struct env_read *r, struct failure *f)
{
    struct frame frame = { .type = 'G', .id = 1, .len = len, .payload = xmalloc(len + 1) };
    memcpy(frame.payload, payload, len + 1);
    struct record rec;
    record_parse(&frame, &rec);
    int rc = parse_env_read(&rec, r, f);
    r->path = NULL; /* borrowed from the record, gone below */
    record_free(&rec);
    free(frame.payload);
    return rc;
}

#define PARSE_READ(text, r, f) parse_read(text, sizeof text - 1, r, f)

static void read_fields_are_checked(void)
{
    struct env_read r;
    struct failure f;
    CHECK(PARSE_READ("env=1\0path=/etc/x\0", &r, &f) == 0);
    CHECK(r.type == 0 && r.follow && r.limit == -1);
    CHECK(PARSE_READ("path=/f\0type=file\0limit=67108864\0follow=false\0", &r, &f) == 0);
    CHECK(r.type == S_IFREG && !r.follow && r.limit == 67108864);
    CHECK(PARSE_READ("path=/d\0type=dir\0", &r, &f) == 0 && r.type == S_IFDIR && !r.entries);
    CHECK(PARSE_READ("path=/d\0type=dir\0entries=true\0", &r, &f) == 0 && r.type == S_IFDIR && r.entries);
    CHECK(PARSE_READ("path=/d\0type=file\0entries=true\0", &r, &f) < 0 && f.err == EINVAL);
    CHECK(PARSE_READ("path=/d\0entries=true\0", &r, &f) < 0);
    CHECK(PARSE_READ("path=/d\0type=dir\0entries=false\0", &r, &f) < 0);
    CHECK(PARSE_READ("path=/l\0type=symlink\0", &r, &f) == 0 && r.type == S_IFLNK);
    CHECK(PARSE_READ("path=relative\0", &r, &f) < 0 && f.err == EINVAL && strcmp(f.stage, "request") == 0);
    CHECK(PARSE_READ("path=/x\0type=fifo\0", &r, &f) < 0);
    CHECK(PARSE_READ("path=/x\0follow=yes\0", &r, &f) < 0);
    CHECK(PARSE_READ("path=/x\0type=file\0limit=-1\0", &r, &f) < 0);
    CHECK(PARSE_READ("path=/x\0type=dir\0limit=1\0", &r, &f) < 0);
    CHECK(PARSE_READ("path=/f\0type=file\0", &r, &f) == 0 && r.offset == -1);
    CHECK(PARSE_READ("path=/f\0type=file\0offset=4194304\0limit=4194304\0", &r, &f) == 0);
    CHECK(r.offset == 4194304 && r.limit == 4194304);
    CHECK(PARSE_READ("path=/f\0type=file\0offset=0\0", &r, &f) == 0 && r.offset == 0 && r.limit == -1);
    CHECK(PARSE_READ("path=/x\0type=file\0offset=-1\0", &r, &f) < 0 && f.err == EINVAL);
    CHECK(PARSE_READ("path=/x\0type=file\0offset=1k\0", &r, &f) < 0);
    CHECK(PARSE_READ("path=/x\0type=dir\0offset=1\0", &r, &f) < 0);
    CHECK(PARSE_READ("path=/x\0offset=1\0", &r, &f) < 0);
}

/* Below a root made in a temporary directory: symlinks that lead up or to `/` stay inside. */
static void writes_resolve_inside_the_root(void)
{
    char root[] = "/tmp/parsers-test-root-XXXXXX", path[256];
    CHECK(mkdtemp(root) != NULL);
    int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(path, sizeof path, "%s/etc", root);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/escape", root);
    CHECK(symlink("/", path) == 0);
    snprintf(path, sizeof path, "%s/up", root);
    CHECK(symlink("../../../../..", path) == 0);
    snprintf(path, sizeof path, "%s/dangling", root);
    CHECK(symlink("/etc/made-through-a-link", path) == 0);
    snprintf(path, sizeof path, "%s/loop", root);
    CHECK(symlink("loop", path) == 0);
    const char *writes[] = { "/escape/etc/a", "/up/etc/b", "/dangling", "/up/escape/up/etc/c" };
    const char *made[] = { "etc/a", "etc/b", "etc/made-through-a-link", "etc/c" };
    for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
        int fd = open_at_in_root(root_fd, writes[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        if (fd >= 0)
            close(fd);
        snprintf(path, sizeof path, "%s/%s", root, made[i]);
        CHECK(access(path, F_OK) == 0);
        CHECK(unlink(path) == 0);
    }
    int fd = open_at_in_root(root_fd, "/up", O_PATH | O_CLOEXEC, 0); /* followed: the root itself */
    struct stat st, root_st;
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && fstat(root_fd, &root_st) == 0 && st.st_ino == root_st.st_ino);
    if (fd >= 0)
        close(fd);
    /* the caller's O_NOFOLLOW: O_PATH opens the symlink itself, a read fails with ELOOP */
    fd = open_at_in_root(root_fd, "/up/escape", O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
    CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode));
    if (fd >= 0)
        close(fd);
    errno = 0;
    CHECK(open_at_in_root(root_fd, "/escape", O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0) < 0 && errno == ELOOP);
    errno = 0;
    CHECK(open_at_in_root(root_fd, "/loop", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 && errno == ELOOP);
    CHECK(open_at_in_root(root_fd, "/etc/no/such", O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 && errno == ENOENT);
    const char *names[] = { "escape", "up", "dangling", "loop", "etc", "" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", root, names[i]);
        CHECK((i == 4 ? rmdir(path) : i == 5 ? rmdir(root) : unlink(path)) == 0);
    }
    close(root_fd);
}

/* A directory the walk entered is moved out of the root (as an env may with two binds of one host file system,
 * one below the other) before its `..` is walked: `..` goes back to the directory the walk came from, never to
 * the moved one's new parent. A race, run until it was won often: without the fix most runs escape at once. */
static void dot_dot_of_a_directory_moved_out_stays_inside(void)
{
    char top[] = "/tmp/parsers-test-race-XXXXXX", path[256], inside[256], outside[256];
    CHECK(mkdtemp(top) != NULL);
    snprintf(path, sizeof path, "%s/root", top);
    CHECK(mkdir(path, 0755) == 0);
    int root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    snprintf(path, sizeof path, "%s/root/a", top);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(inside, sizeof inside, "%s/root/a/d", top);
    snprintf(outside, sizeof outside, "%s/d", top);
    CHECK(mkdir(inside, 0755) == 0);
    snprintf(path, sizeof path, "%s/secret", top); /* outside the root, next to where d is moved */
    CHECK(close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == 0);
    pid_t mover = fork();
    if (mover == 0)
        for (;;) {
            rename(inside, outside);
            rename(outside, inside);
        }
    int escaped = 0, entered = 0;
    for (int i = 0; i < 1000000 && entered < 20000; i++) {
        int fd = open_at_in_root(root_fd, "/a/d/../secret", O_RDONLY | O_CLOEXEC, 0);
        if (fd >= 0) {
            escaped++;
            close(fd);
        }
        fd = open_at_in_root(root_fd, "/a/d/..", O_PATH | O_CLOEXEC, 0);
        if (fd >= 0) {
            struct stat st, a_st;
            snprintf(path, sizeof path, "%s/root/a", top);
            if (fstat(fd, &st) == 0 && stat(path, &a_st) == 0) {
                entered++;
                escaped += st.st_ino != a_st.st_ino;
            }
            close(fd);
        }
    }
    kill(mover, SIGKILL);
    waitpid(mover, NULL, 0);
    CHECK(escaped == 0);
    if (escaped)
        fprintf(stderr, "parsers_test: the walk's `..` left the root %d times\n", escaped);
    rename(outside, inside);
    const char *names[] = { "root/a/d", "root/a", "root", "secret", "" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", top, names[i]);
        CHECK((i == 3 ? unlink(path) : rmdir(path)) == 0);
    }
    close(root_fd);
}

/* The walk where openat2 is missing (ISOLATED_HELPER_NO_OPENAT2=1) in a child, then openat2 here: the choice is
 * made once per process, at the first use, so nothing before may resolve in a root. */
static void writes_resolve_inside_the_root_with_openat2_and_the_walk(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ISOLATED_HELPER_NO_OPENAT2", "1", 1);
        checks = failed = 0;
        writes_resolve_inside_the_root();
        dot_dot_of_a_directory_moved_out_stays_inside();
        _exit(failed ? 1 : 0);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    writes_resolve_inside_the_root();
}

int main(void)
{
    ns_list_names_every_namespace();
    ns_list_takes_proc_names_repeats_and_empty_words();
    ns_list_names_the_bad_word();
    bind_takes_source_target_and_mode();
    bind_refuses_missing_parts_and_bad_modes();
    tmpfs_takes_target_size_and_mode();
    tmpfs_refuses_bad_sizes_modes_and_targets();
    integers_are_digits_only_and_in_range();
    ids_umasks_and_rlimits_are_strict();
    frames_are_split_from_the_stream();
    a_frame_waits_for_all_its_bytes();
    a_length_under_five_loses_the_framing();
    an_oversized_frame_is_named_and_skipped();
    records_are_key_value_strings();
    sent_records_read_back();
    settings_no_host_can_satisfy_are_the_tests_fault();
    out_of_fds_is_the_hint_whatever_the_step();
    clone_hints_say_why();
    ports_are_1_to_65535();
    the_filter_lets_only_the_helpers_own_keyring_join_through();
    write_fields_are_checked();
    writes_resolve_inside_the_root_with_openat2_and_the_walk();
    read_fields_are_checked();
    if (failed) {
        fprintf(stderr, "parsers_test: %d of %d checks failed\n", failed, checks);
        return 1;
    }
    printf("parsers_test: %d checks passed\n", checks);
    return 0;
}
