/*
 * forward.h - FORWARD: a TCP port inside an environment's network namespace, reachable on
 * the host's 127.0.0.1 (PROTOCOL.md). Relayed by the server's poll loop.
 */
#ifndef ISOLATED_FORWARD_H
#define ISOLATED_FORWARD_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct forward_listener;
struct relay;

struct forwards {
    int own_netns_fd;                  /* the helper's (the host's) network namespace */
    struct forward_listener **listeners;
    size_t n_listeners;
    struct relay **relays;
    size_t n_relays;
    struct relay **polled;             /* relays[] as of the last forwards_collect() */
    size_t n_polled_listeners, n_polled_relays;
    int resting_ms;                    /* forwards_timeout() as of the last forwards_collect() */
};

/* The port= of FORWARD and HOST-PORT: decimal digits only (no sign, no blanks), 1..65535, else -1
 * with *f (stage `forward`). */
int parse_port(const char *text, struct failure *f);

/* Keeps an fd of the helper's own network namespace (at startup, before any env exists). */
int forwards_init(struct forwards *t, struct failure *f);

/* Listens on 127.0.0.1:<ephemeral> (*host_port) for ENV_ID; every connection is relayed to
 * 127.0.0.1:PORT in the network namespace ENV_NETNS_FD (with ENV_USERNS_FD, or -1, for a
 * non-root helper). The fds are dup()ed. Stage `forward`. */
int forward_open(struct forwards *t, uint32_t env_id, int env_netns_fd, int env_userns_fd,
                 int port, int *host_port, struct failure *f);

/* The address of the env's `lo` on which HOST-PORT listens (the env's /etc/hosts names it). */
#define HOST_ALIAS_ADDR "127.213.0.1"

/* HOST-PORT: listens on HOST_ALIAS_ADDR:PORT inside the network namespace ENV_NETNS_FD (joined
 * with ENV_USERNS_FD, or -1, by a non-root helper); every connection is relayed to the host's
 * 127.0.0.1:PORT. A port exposed already for ENV_ID is a no-op. Stage `forward`. */
int host_port_open(struct forwards *t, uint32_t env_id, int env_netns_fd, int env_userns_fd,
                   int port, struct failure *f);

/* Closes every listener and relay of ENV_ID (CLOSE). */
void forwards_close_env(struct forwards *t, uint32_t env_id);

/* The pollfds needed (at most), then fills them at FDS; returns how many were filled. */
size_t forwards_pollfd_count(const struct forwards *t);
size_t forwards_collect(struct forwards *t, struct pollfd *fds);
/* The poll timeout (ms) until a listener that ran out of fds, left out of the last
 * forwards_collect(), is polled again; -1 none. */
int forwards_timeout(const struct forwards *t);
/* After poll(): the same N pollfds, now with revents. Never blocks. */
void forwards_serve(struct forwards *t, const struct pollfd *fds, size_t n);

#endif
