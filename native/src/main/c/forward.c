/*
 * forward.c - FORWARD: TCP ports of an environment's network namespace, reachable on the
 * host's 127.0.0.1 (PROTOCOL.md).
 *
 * - A forward is a listening socket on 127.0.0.1:<ephemeral> in the helper's (the host's)
 *   network namespace. Each accepted connection gets a partner socket created inside the env's
 *   network namespace, connected non-blockingly to 127.0.0.1:<port> there. A socket keeps the
 *   namespace it was created in: the helper (single-threaded) setns()es into the env, calls
 *   socket(), and setns()es back into its own, whose fd it keeps from startup.
 * - A non-root helper may not setns() into a network namespace (CAP_SYS_ADMIN in its own user
 *   namespace): a short-lived child joins the env's user and network namespaces, creates the
 *   socket there and passes it back over a socketpair (SCM_RIGHTS).
 * - Relaying is part of the server's poll loop, every socket non-blocking: each direction has
 *   a 64 KiB buffer, and a side is polled for input only while the buffer it fills has room
 *   (back-pressure: the helper never blocks and never grows a buffer).
 * - EOF on one side is passed on as shutdown(SHUT_WR) of the other once the buffer drained; a
 *   relay ends when both directions did, or at the first error: both sockets are closed, so a
 *   refused connect inside closes the accepted connection at once. Unread input of the JVM's
 *   side is dropped before its close, so that the JVM sees EOF rather than a reset.
 * - Loopback only, on both ends: nothing is ever bound or connected to another address.
 * - HOST-PORT is the reverse (a server of the host reached from inside): the listening socket
 *   is created inside the env's network namespace (as above: setns() and back, or a child
 *   passing it) and bound there to HOST_ALIAS_ADDR:<port>, an address of the env's own `lo`
 *   (127.0.0.0/8 is local on lo) that only /etc/hosts names; each accepted connection gets a
 *   partner socket in the helper's own namespace connected to the host's 127.0.0.1:<port>.
 *   Only the ports so exposed are relayed; the env keeps no route to the host.
 */
#include "forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int parse_port(const char *text, struct failure *f)
{
    long port = 0;
    const char *p = text ? text : "";
    for (; *p >= '0' && *p <= '9' && port <= 65535; p++) /* no sign, no blanks (strtol takes both) */
        port = port * 10 + (*p - '0');
    if (p != text && !*p && port >= 1 && port <= 65535)
        return (int)port;
    errno = EINVAL;
    return fail(f, "forward", "parse", text ? text : "", "port= must be a TCP port, 1..65535");
}

#define RELAY_BUF 65536
#define ACCEPTS_PER_WAKEUP 16
/* HOST-PORT: connections the env opens are untrusted; past this many open relays of one env its
 * listeners are not polled (the kernel's backlog holds, then refuses, further connections), so an
 * env cannot use up the helper's fds. */
#define MAX_RELAYS_PER_ENV 256
/* accept() out of fds (EMFILE, ENFILE) leaves the connection in the backlog and the listener
 * readable: polling it at once again would spin. It rests this long, the connection waiting. */
#define ACCEPT_BACKOFF_MS 100

struct forward_listener {
    uint32_t env_id;
    int fd;                  /* listening, 127.0.0.1 of the host (reverse: HOST_ALIAS_ADDR in the env) */
    int netns_fd, userns_fd; /* the env's (dup()ed; userns -1 unless rootless; both -1 if reverse) */
    int port;                /* inside the env (reverse: on the host, and inside alike) */
    bool reverse;            /* HOST-PORT: accepted inside, connected to the host's 127.0.0.1 */
    long long resting_until; /* now_ms() before which it is not polled (out of fds) */
    bool out_of_fds;         /* its last accept() failed so (logged once per such spell) */
};

struct relay {
    uint32_t env_id;
    int fd[2];    /* [0] accepted on the host, [1] connected inside the env */
    char *buf[2]; /* buf[i]: read from fd[i], not yet written to fd[1 - i] */
    size_t len[2];
    bool eof[2];  /* fd[i] reached EOF */
    bool shut[2]; /* shutdown(fd[i], SHUT_WR) was done */
    bool connecting;
    bool done;
};

int forwards_init(struct forwards *t, struct failure *f)
{
    memset(t, 0, sizeof *t);
    t->resting_ms = -1;
    t->own_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (t->own_netns_fd < 0)
        return fail(f, "forward", "open", "/proc/self/ns/net", "/proc must be mounted");
    return 0;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

static struct sockaddr_in host_alias(int port)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, HOST_ALIAS_ADDR, &addr.sin_addr);
    return addr;
}

static int listen_on_loopback(int *host_port, struct failure *f)
{
    struct sockaddr_in addr = loopback(0);
    socklen_t len = sizeof addr;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(f, "forward", "socket", "127.0.0.1", NULL);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        fail(f, "forward", "bind", "127.0.0.1:0", "the host's loopback must be up");
        close(fd);
        return -1;
    }
    *host_port = ntohs(addr.sin_port);
    return fd;
}

int forward_open(struct forwards *t, uint32_t env_id, int env_netns_fd, int env_userns_fd,
                 int port, int *host_port, struct failure *f)
{
    int fd = listen_on_loopback(host_port, f);
    if (fd < 0)
        return -1;
    struct forward_listener *l = xmalloc(sizeof *l);
    *l = (struct forward_listener){ .env_id = env_id, .fd = fd, .port = port, .userns_fd = -1 };
    l->netns_fd = fcntl(env_netns_fd, F_DUPFD_CLOEXEC, 0);
    if (env_userns_fd >= 0 && geteuid() != 0)
        l->userns_fd = fcntl(env_userns_fd, F_DUPFD_CLOEXEC, 0);
    if (l->netns_fd < 0 || (env_userns_fd >= 0 && geteuid() != 0 && l->userns_fd < 0)) {
        fail(f, "forward", "fcntl", "F_DUPFD (the env's namespaces)", NULL);
        close(fd);
        if (l->netns_fd >= 0)
            close(l->netns_fd);
        free(l);
        return -1;
    }
    t->listeners = xrealloc(t->listeners, (t->n_listeners + 1) * sizeof *t->listeners);
    t->listeners[t->n_listeners++] = l;
    return 0;
}

static int socket_in_netns(const struct forwards *t, int userns_fd, int netns_fd, int listen_port);

int host_port_open(struct forwards *t, uint32_t env_id, int env_netns_fd, int env_userns_fd,
                   int port, struct failure *f)
{
    for (size_t i = 0; i < t->n_listeners; i++) {
        const struct forward_listener *l = t->listeners[i];
        if (l->reverse && l->env_id == env_id && l->port == port)
            return 0; /* exposed already */
    }
    int userns_fd = env_userns_fd >= 0 && geteuid() != 0 ? env_userns_fd : -1;
    int fd = socket_in_netns(t, userns_fd, env_netns_fd, port);
    if (fd < 0) {
        char where[64];
        snprintf(where, sizeof where, HOST_ALIAS_ADDR ":%d", port);
        return fail(f, "forward", "bind", where, "%s",
                    errno == EADDRINUSE
                        ? "a server in the environment already listens on this port (on 0.0.0.0 or "
                          HOST_ALIAS_ADDR "): expose the host's port before starting it, or use another"
                        : "the helper could not listen inside the environment's network namespace");
    }
    struct forward_listener *l = xmalloc(sizeof *l);
    *l = (struct forward_listener){ .env_id = env_id, .fd = fd, .port = port, .netns_fd = -1,
                                    .userns_fd = -1, .reverse = true };
    t->listeners = xrealloc(t->listeners, (t->n_listeners + 1) * sizeof *t->listeners);
    t->listeners[t->n_listeners++] = l;
    return 0;
}

/* ---- a socket inside the env ---- */

static int send_fd(int sock, int fd)
{
    char byte = 's';
    return send_with_control(sock, &byte, 1, SCM_RIGHTS, &fd, sizeof fd) == 1 ? 0 : -1;
}

static int receive_fd(int sock)
{
    char byte;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = { &byte, 1 };
    struct msghdr hdr = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    ssize_t n;
    while ((n = recvmsg(sock, &hdr, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    struct cmsghdr *c = n == 1 ? CMSG_FIRSTHDR(&hdr) : NULL;
    if (!c || c->cmsg_type != SCM_RIGHTS) {
        /* the child could not join the env (EPERM) or make the socket (its errno as the byte) */
        errno = n == 1 && byte > 0 ? byte : EPERM;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

/* A TCP socket in the current network namespace; with LISTEN_PORT > 0 bound to
 * HOST_ALIAS_ADDR:LISTEN_PORT and listening (for a rootless helper this runs in a child that is
 * root in the env's user namespace, which a port below 1024 needs). */
static int new_socket(int listen_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || listen_port <= 0)
        return fd;
    struct sockaddr_in addr = host_alias(listen_port);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, SOMAXCONN) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Rootless: a child joins the env's user and network namespaces and hands the socket over
 * (or its errno, as the one byte, when it could not make it). */
static int socket_from_child(int userns_fd, int netns_fd, int listen_port)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = -1;
        if (setns(userns_fd, CLONE_NEWUSER) == 0 && setns(netns_fd, CLONE_NEWNET) == 0)
            fd = new_socket(listen_port);
        if (fd < 0) {
            char err = (char)(errno > 0 && errno < 128 ? errno : EPERM);
            _exit(send(pair[1], &err, 1, MSG_NOSIGNAL) == 1 ? 1 : 2);
        }
        _exit(send_fd(pair[1], fd) == 0 ? 0 : 1);
    }
    close(pair[1]);
    int fd = pid < 0 ? -1 : receive_fd(pair[0]);
    int saved = errno;
    close(pair[0]);
    while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    errno = saved;
    return fd;
}

static int socket_in_netns(const struct forwards *t, int userns_fd, int netns_fd, int listen_port)
{
    if (userns_fd >= 0)
        return socket_from_child(userns_fd, netns_fd, listen_port);
    if (setns(netns_fd, CLONE_NEWNET) < 0)
        return -1;
    int fd = new_socket(listen_port);
    int saved = errno;
    if (setns(t->own_netns_fd, CLONE_NEWNET) < 0)
        die("forward", "setns", "(the helper's own network namespace)",
            "the helper cannot return to the host's network namespace");
    errno = saved;
    return fd;
}

static int socket_in_env(const struct forwards *t, const struct forward_listener *l)
{
    return socket_in_netns(t, l->userns_fd, l->netns_fd, 0);
}

/* ---- relays ---- */

/* TCP resets a connection closed with unread input: what the JVM sent so far is read and
 * dropped first, so that it reads a plain EOF (bytes still in flight can still cause a reset). */
static void close_gracefully(int fd, char *scratch)
{
    for (int k = 0; k < 16 && read(fd, scratch, RELAY_BUF) > 0; k++)
        ;
    close(fd);
}

/* Refused inside (nothing listens), or no socket there: the JVM reads EOF at once. */
static void refuse(const struct forward_listener *l, int client, int inside)
{
    char scratch[RELAY_BUF];
    if (inside < 0)
        fprintf(stderr, "isolated-helper: forward: socket in env %u: %s\n", l->env_id,
                strerror(errno));
    else
        close(inside);
    close_gracefully(client, scratch);
}

static void start_relay(struct forwards *t, const struct forward_listener *l, int client)
{
    struct sockaddr_in to = loopback(l->port);
    /* reverse: the helper is in its own (the host's) namespace between requests */
    int inside = l->reverse ? socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
                            : socket_in_env(t, l);
    int rc = inside < 0 ? -1 : connect(inside, (struct sockaddr *)&to, sizeof to);
    if (rc < 0 && (inside < 0 || errno != EINPROGRESS))
        return refuse(l, client, inside);
    struct relay *r = xmalloc(sizeof *r);
    *r = (struct relay){ .env_id = l->env_id, .fd = { client, inside }, .connecting = rc < 0 };
    r->buf[0] = xmalloc(RELAY_BUF);
    r->buf[1] = xmalloc(RELAY_BUF);
    t->relays = xrealloc(t->relays, (t->n_relays + 1) * sizeof *t->relays);
    t->relays[t->n_relays++] = r;
}

static size_t env_relays(const struct forwards *t, uint32_t env_id)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_relays; i++)
        n += t->relays[i]->env_id == env_id;
    return n;
}

/* Out of fds: the listener rests (logged once, when it starts to). */
static void rest(struct forward_listener *l)
{
    if (!l->out_of_fds)
        fprintf(stderr, "isolated-helper: forward: accept in env %u: %s: connections wait until "
                "fds are free\n", l->env_id, strerror(errno));
    l->out_of_fds = true;
    l->resting_until = now_ms() + ACCEPT_BACKOFF_MS;
}

static void accept_connections(struct forwards *t, struct forward_listener *l)
{
    for (int k = 0; k < ACCEPTS_PER_WAKEUP; k++) {
        if (l->reverse && env_relays(t, l->env_id) >= MAX_RELAYS_PER_ENV)
            return;
        int client = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0 && (errno == EMFILE || errno == ENFILE))
            return rest(l);
        if (client < 0)
            return; /* EAGAIN: all taken; ECONNABORTED and the like: the client gave up */
        l->out_of_fds = false;
        start_relay(t, l, client);
    }
}

static void free_relay(struct relay *r)
{
    close_gracefully(r->fd[0], r->buf[0]);
    close(r->fd[1]);
    free(r->buf[0]);
    free(r->buf[1]);
    free(r);
}

static void finish_connect(struct relay *r)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(r->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
        r->done = true; /* ECONNREFUSED: nothing listens on the port inside */
    else
        r->connecting = false;
}

/* Reads from fd[i] into buf[i]. */
static void pull(struct relay *r, int i)
{
    ssize_t n = read(r->fd[i], r->buf[i] + r->len[i], RELAY_BUF - r->len[i]);
    if (n > 0)
        r->len[i] += (size_t)n;
    else if (n == 0)
        r->eof[i] = true;
    else if (errno != EAGAIN && errno != EINTR)
        r->done = true;
}

/* Writes buf[i] to fd[1 - i]. */
static void push(struct relay *r, int i)
{
    ssize_t n = send(r->fd[1 - i], r->buf[i], r->len[i], MSG_NOSIGNAL);
    if (n > 0) {
        memmove(r->buf[i], r->buf[i] + n, r->len[i] - (size_t)n);
        r->len[i] -= (size_t)n;
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        r->done = true;
    }
}

static void pass_eof(struct relay *r)
{
    for (int i = 0; i < 2; i++) {
        if (r->eof[i] && r->len[i] == 0 && !r->shut[1 - i]) {
            shutdown(r->fd[1 - i], SHUT_WR);
            r->shut[1 - i] = true;
        }
    }
    if (r->shut[0] && r->shut[1])
        r->done = true;
}

static short relay_events(const struct relay *r, int i)
{
    if (r->connecting)
        return i == 1 ? POLLOUT : 0;
    short events = 0;
    if (!r->eof[i] && r->len[i] < RELAY_BUF)
        events |= POLLIN;
    if (r->len[1 - i] > 0)
        events |= POLLOUT;
    return events;
}

static void serve_relay(struct relay *r, const struct pollfd p[2])
{
    if (r->connecting) {
        if (p[1].revents)
            finish_connect(r);
        return;
    }
    for (int i = 0; i < 2 && !r->done; i++) {
        if (!p[i].revents)
            continue;
        if (!r->eof[i] && r->len[i] < RELAY_BUF)
            pull(r, i);
        if (!r->done && r->len[1 - i] > 0)
            push(r, 1 - i);
    }
    if (!r->done)
        pass_eof(r);
}

/* ---- the poll loop's part ---- */

size_t forwards_pollfd_count(const struct forwards *t)
{
    return t->n_listeners + 2 * t->n_relays;
}

/* A side with nothing to wait for gets fd -1: poll() would report its POLLHUP forever. */
size_t forwards_collect(struct forwards *t, struct pollfd *fds)
{
    size_t n = 0;
    long long now = now_ms();
    t->resting_ms = -1;
    for (size_t i = 0; i < t->n_listeners; i++) {
        const struct forward_listener *l = t->listeners[i];
        /* an env's connections to the host wait in the backlog while it has too many relays */
        bool full = l->reverse && env_relays(t, l->env_id) >= MAX_RELAYS_PER_ENV;
        bool resting = l->resting_until > now;
        if (resting && (t->resting_ms < 0 || l->resting_until - now < t->resting_ms))
            t->resting_ms = (int)(l->resting_until - now);
        fds[n++] = (struct pollfd){ .fd = full || resting ? -1 : l->fd, .events = POLLIN };
    }
    t->polled = xrealloc(t->polled, (t->n_relays + 1) * sizeof *t->polled);
    for (size_t i = 0; i < t->n_relays; i++) {
        struct relay *r = t->relays[i];
        t->polled[i] = r;
        for (int side = 0; side < 2; side++) {
            short events = relay_events(r, side);
            fds[n++] = (struct pollfd){ .fd = events ? r->fd[side] : -1, .events = events };
        }
    }
    t->n_polled_listeners = t->n_listeners;
    t->n_polled_relays = t->n_relays;
    return n;
}

int forwards_timeout(const struct forwards *t)
{
    return t->resting_ms;
}

static void sweep_relays(struct forwards *t, bool all_of_env, uint32_t env_id)
{
    for (size_t i = 0; i < t->n_relays;) {
        struct relay *r = t->relays[i];
        if (r->done || (all_of_env && r->env_id == env_id)) {
            t->relays[i] = t->relays[--t->n_relays];
            free_relay(r);
        } else {
            i++;
        }
    }
}

void forwards_serve(struct forwards *t, const struct pollfd *fds, size_t n)
{
    if (n != t->n_polled_listeners + 2 * t->n_polled_relays)
        return;
    for (size_t i = 0; i < t->n_polled_relays; i++)
        serve_relay(t->polled[i], &fds[t->n_polled_listeners + 2 * i]);
    for (size_t i = 0; i < t->n_polled_listeners; i++)
        if (fds[i].revents)
            accept_connections(t, t->listeners[i]);
    sweep_relays(t, false, 0);
}

void forwards_close_env(struct forwards *t, uint32_t env_id)
{
    for (size_t i = 0; i < t->n_listeners;) {
        struct forward_listener *l = t->listeners[i];
        if (l->env_id != env_id) {
            i++;
            continue;
        }
        close(l->fd);
        if (l->netns_fd >= 0)
            close(l->netns_fd);
        if (l->userns_fd >= 0)
            close(l->userns_fd);
        free(l);
        t->listeners[i] = t->listeners[--t->n_listeners];
    }
    sweep_relays(t, true, env_id);
}
