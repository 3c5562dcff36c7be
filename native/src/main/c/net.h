/*
 * net.h - private networks between environments (CREATE `network=NAME`).
 */
#ifndef ISOLATED_NET_H
#define ISOLATED_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "usermap.h"
#include "util.h"

#define NETWORK_NAME_MAX 15

/* One env's place on a network; network < 0: on none. */
struct net_member {
    int network;     /* the subnet k of 10.213.k.0/24, which also indexes the helper's table */
    int host;        /* n of 10.213.k.n; 0 until joined */
    char name[NETWORK_NAME_MAX + 1];
    char ip[32];     /* "10.213.k.n" */
};

/* NAME is [a-z0-9-]{1,15}. */
bool network_name_valid(const char *name);

void net_member_init(struct net_member *m);

/* Before the env is created: takes a place on network NAME, creating it (a switch namespace
 * with a bridge; ROOTLESS: inside a user namespace of its own, mapped for MAP) on first use.
 * Rootless, MAP must agree with the network's: subids, or root/self (stage network, EINVAL). */
int network_open(const char *name, bool rootless, enum user_map map, struct net_member *m,
                 struct failure *f);

/* Rootless: the network's user namespace, in which the env must be created (env_spec's
 * parent_userns_fd); -1 for a root helper or no network. */
int network_userns_fd(const struct net_member *m);

/* Once the env (netns ENV_NETNS_FD) is ready: a veth pair from the bridge to the env's `eth0`,
 * which gets the next free address of the network's /24, up. On failure the place is kept:
 * network_leave() it. */
int network_join(int env_netns_fd, uint32_t env_id, struct net_member *m, struct failure *f);

/* Frees the env's place and address (a no-op on no network); the last member's leave destroys
 * the switch namespace (and its user namespace). The veth pair goes with the env's netns. */
void network_leave(struct net_member *m);

#endif
