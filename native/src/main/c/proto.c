/*
 * proto.c - reading and writing frames (see PROTOCOL.md).
 *
 * - Input is buffered and split into whole frames. A frame over 1 MiB is skipped (its bytes are
 *   discarded as they come, never buffered) and reported to the caller by type and id, so that
 *   request alone fails; a length under 5 loses the framing and is a protocol error.
 * - Output is written with blocking write()s on stdout, one frame at a time, so frames never
 *   interleave; EPIPE marks the writer broken instead of killing the helper (SIGPIPE ignored).
 */
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

ssize_t reader_fill(struct frame_reader *r, int fd)
{
    if (r->cap - r->len < 65536) {
        r->cap = r->cap ? r->cap * 2 : 131072;
        r->buf = xrealloc(r->buf, r->cap);
    }
    ssize_t n;
    do
        n = read(fd, r->buf + r->len, r->cap - r->len);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        r->len += (size_t)n;
    return n;
}

static uint32_t get_u32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return ntohl(v);
}

static void discard_skipped(struct frame_reader *r)
{
    size_t n = r->skip < r->len ? r->skip : r->len;
    memmove(r->buf, r->buf + n, r->len - n);
    r->len -= n;
    r->skip -= n;
}

int reader_next(struct frame_reader *r, struct frame *out)
{
    discard_skipped(r);
    if (r->skip > 0 || r->len < 4)
        return 0;
    uint32_t length = get_u32(r->buf);
    if (length < 5)
        return -1;
    if (length > FRAME_MAX) {
        if (r->len < 9)
            return 0;
        *out = (struct frame){ .type = (uint8_t)r->buf[4], .id = get_u32(r->buf + 5),
                               .len = length - 5 };
        r->skip = 4 + (size_t)length;
        discard_skipped(r);
        return 2;
    }
    if (r->len < 4 + (size_t)length)
        return 0;
    out->type = (uint8_t)r->buf[4];
    out->id = get_u32(r->buf + 5);
    out->len = length - 5;
    out->payload = xmalloc(out->len + 1);
    memcpy(out->payload, r->buf + 9, out->len);
    out->payload[out->len] = '\0';
    memmove(r->buf, r->buf + 4 + length, r->len - 4 - length);
    r->len -= 4 + (size_t)length;
    return 1;
}

void record_parse(struct frame *frame, struct record *rec)
{
    memset(rec, 0, sizeof *rec);
    size_t cap = 0;
    for (size_t at = 0; at < frame->len;) {
        char *entry = frame->payload + at;
        size_t n = strnlen(entry, frame->len - at);
        at += n + 1;
        char *eq = memchr(entry, '=', n);
        if (!eq)
            continue;
        *eq = '\0';
        if (rec->count == cap) {
            cap = cap ? cap * 2 : 8;
            rec->keys = xrealloc(rec->keys, cap * sizeof *rec->keys);
            rec->values = xrealloc(rec->values, cap * sizeof *rec->values);
        }
        rec->keys[rec->count] = entry;
        rec->values[rec->count++] = eq + 1;
    }
}

const char *record_get(const struct record *rec, const char *key)
{
    for (size_t i = 0; i < rec->count; i++)
        if (strcmp(rec->keys[i], key) == 0)
            return rec->values[i];
    return NULL;
}

char **record_all(const struct record *rec, const char *key, size_t *count)
{
    char **all = xmalloc((rec->count + 1) * sizeof *all);
    size_t n = 0;
    for (size_t i = 0; i < rec->count; i++)
        if (strcmp(rec->keys[i], key) == 0)
            all[n++] = rec->values[i];
    all[n] = NULL;
    *count = n;
    return all;
}

void record_free(struct record *rec)
{
    free(rec->keys);
    free(rec->values);
    memset(rec, 0, sizeof *rec);
}

void record_add(struct record_builder *rb, const char *key, const char *fmt, ...)
{
    char value[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    size_t need = strlen(key) + 1 + strlen(value) + 1;
    if (rb->len + need > rb->cap) {
        rb->cap = (rb->len + need) * 2;
        rb->data = xrealloc(rb->data, rb->cap);
    }
    rb->len += (size_t)sprintf(rb->data + rb->len, "%s=%s", key, value) + 1;
}

void send_frame(struct writer *w, enum reply_type type, uint32_t id, const void *data, size_t len)
{
    if (w->broken)
        return;
    char header[9];
    uint32_t length = htonl((uint32_t)(len + 5)), net_id = htonl(id);
    memcpy(header, &length, 4);
    header[4] = (char)type;
    memcpy(header + 5, &net_id, 4);
    struct iovec iov[2] = { { header, sizeof header }, { (void *)data, len } };
    size_t total = sizeof header + len;
    while (total > 0) {
        ssize_t n = writev(w->fd, iov, 2);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            w->broken = true;
            return;
        }
        total -= (size_t)n;
        for (int i = 0; i < 2 && n > 0; i++) {
            size_t used = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
            iov[i].iov_base = (char *)iov[i].iov_base + used;
            iov[i].iov_len -= used;
            n -= (ssize_t)used;
        }
    }
}

void send_record(struct writer *w, enum reply_type type, uint32_t id, struct record_builder *rb)
{
    send_frame(w, type, id, rb->data, rb->len);
    free(rb->data);
    memset(rb, 0, sizeof *rb);
}

/* The stages that need a kernel feature, a setting or a permission of the host; their failure with one of
 * these errnos is the host's (KIND_HOST). cgroup and uid-map have errnos of their own (failure_kind()). */
static const char *const HOST_STAGES[] = { "clone", "mount-private", "overlay", "mount-rootfs", "pivot-root",
                                           "mount-proc", "mount-dev", "mount-tmp", "loopback", "hostname", "proc" };

static bool host_errno(int err)
{
    return err == EPERM || err == EACCES || err == ENOSYS || err == EINVAL || err == ENOSPC || err == EUSERS;
}

enum failure_kind failure_kind(const struct failure *f)
{
    if (f->settings) /* settings that contradict each other: no host can do what they ask */
        return KIND_TEST;
    /* cgroup: a controller missing or not delegated; a value the kernel refuses (EINVAL) is the test's */
    if (strcmp(f->stage, "cgroup") == 0)
        return f->err == EPERM || f->err == EACCES || f->err == EOPNOTSUPP || f->err == EROFS ? KIND_HOST
                                                                                             : KIND_TEST;
    if (strcmp(f->stage, "uid-map") == 0) /* also a missing /etc/subuid range or newuidmap program */
        return host_errno(f->err) || f->err == ENOENT ? KIND_HOST : KIND_TEST;
    for (size_t i = 0; i < sizeof HOST_STAGES / sizeof *HOST_STAGES; i++)
        if (strcmp(f->stage, HOST_STAGES[i]) == 0)
            return host_errno(f->err) ? KIND_HOST : KIND_TEST;
    return KIND_TEST;
}

const char *failure_kind_name(enum failure_kind kind)
{
    static const char *const names[] = FAILURE_KIND_NAMES;
    return names[kind];
}

void send_failure(struct writer *w, uint32_t id, const struct failure *f)
{
    struct record_builder rb = { 0 };
    record_add(&rb, "stage", "%s", f->stage);
    record_add(&rb, "syscall", "%s", f->syscall);
    if (f->path[0])
        record_add(&rb, "path", "%s", f->path);
    record_add(&rb, "errno", "%d", f->err);
    record_add(&rb, "errname", "%s", f->err ? errno_name(f->err) : "");
    if (f->signal)
        record_add(&rb, "signal", "%d", f->signal);
    if (f->oom)
        record_add(&rb, "oom", "true");
    char message[sizeof f->syscall + sizeof f->path + 128];
    failure_message(f, message, sizeof message);
    record_add(&rb, "message", "%s", message);
    if (f->hint[0])
        record_add(&rb, "hint", "%s", f->hint);
    record_add(&rb, "kind", "%s", failure_kind_name(failure_kind(f)));
    send_record(w, FRAME_ERROR, id, &rb);
}

void send_request_error(struct writer *w, uint32_t id, int err, const char *what)
{
    struct record_builder rb = { 0 };
    record_add(&rb, "stage", "request");
    record_add(&rb, "syscall", "request");
    record_add(&rb, "errno", "%d", err);
    record_add(&rb, "errname", "%s", errno_name(err));
    record_add(&rb, "message", "%s", what);
    record_add(&rb, "hint", "a bug in the caller: see PROTOCOL.md");
    record_add(&rb, "kind", "%s", failure_kind_name(KIND_REQUEST));
    send_record(w, FRAME_ERROR, id, &rb);
}
