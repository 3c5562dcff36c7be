/*
 * net.h - private networks between environments (CREATE `network=NAME`).
 */
#ifndef ISOLATED_NET_H
#define ISOLATED_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

#define NETWORK_NAME_MAX 15

/* One env's place on a network; network < 0: on none. */
struct net_member {
    int network;     /* the subnet k of 10.213.k.0/24, which also indexes the helper's table */
    int host;        /* n of 10.213.k.n */
    char name[NETWORK_NAME_MAX + 1];
    char ip[32];     /* "10.213.k.n" */
};

/* NAME is [a-z0-9-]{1,15}. */
bool network_name_valid(const char *name);

void net_member_init(struct net_member *m);

/* Puts the env whose network namespace is ENV_NETNS_FD on network NAME: creates the network
 * (a switch namespace with a bridge) on first use, then a veth pair from the bridge to the
 * env's `eth0`, which gets the next free address of the network's /24, up. Root only. */
int network_join(const char *name, int env_netns_fd, uint32_t env_id, struct net_member *m,
                 struct failure *f);

/* Frees the env's address; the last member's leave destroys the switch namespace. The veth
 * pair itself goes with the env's network namespace. */
void network_leave(struct net_member *m);

#endif
