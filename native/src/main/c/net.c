/*
 * net.c - private networks between environments, by raw rtnetlink (no `ip`, no libnl).
 *
 * - A network NAME is a hidden "switch" network namespace with a bridge `br0` (up, no
 *   address). A throwaway child unshare()s it and creates the bridge; the helper keeps only
 *   an nsfs fd of it (/proc/CHILD/ns/net). Closing that fd when the last member leaves
 *   destroys the namespace; the kernel then removes the bridge and every port.
 * - Joining: a child setns()es into the switch, creates a veth pair `veth<envid>` whose peer
 *   is created directly in the env's network namespace as `eth0` (IFLA_NET_NS_FD on the peer),
 *   enslaves `veth<envid>` to br0 and sets it up; then it setns()es into the env and gives
 *   eth0 10.213.k.n/24 and sets it up. No interface ever exists in the helper's (the host's)
 *   network namespace, and no route leads out: the subnet's connected route only.
 * - Rootless (a non-root helper): creating a veth end in a namespace needs CAP_NET_ADMIN over
 *   the user namespace owning it, for the netlink message's sender and the socket's opener
 *   alike, and a process in the initial user namespace without CAP_SYS_ADMIN there cannot
 *   setns() into any network namespace. So each rootless network gets a user namespace of its
 *   own, U_S: the switch child unshare()s it first (the helper writes its maps: the caller is
 *   0, plus its subordinate ids with user-map=subids), then the switch's network namespace in
 *   it; the helper keeps fds of both. Every env of the network is cloned from inside U_S
 *   (env.c: an intermediate setns()es there, which the owner of U_S may do) with a user
 *   namespace of its own nested in U_S. A child that joins U_S is root there and therefore
 *   holds every capability over the switch and over each member's namespaces (their user
 *   namespaces are U_S's children, owned by the same uid): it does the wiring above.
 *   Chosen over one user namespace for the whole helper (podman's pause process) because it
 *   changes nothing for envs on no network, for `enter`, FORWARD or the maps of user-map=self
 *   and subids; the price: members of one rootless network share how U_S maps ids, so
 *   user-map=subids and root/self cannot be mixed on one network (root and self can).
 * - Addresses: each network gets a subnet 10.213.k.0/24, k counting up per network within
 *   this helper (0..255, skipping those in use); hosts 2..254 counting up likewise. They exist
 *   only inside these private namespaces: never routed to or from the host, and two helpers
 *   (two JVMs) using the same numbers cannot see each other.
 * - Errors: stage `network`, the netlink operation as the syscall (e.g. `RTM_NEWLINK veth`),
 *   the interface or network as the path, the kernel's errno and a hint. The children die()
 *   with them through the failure pipe.
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUBNETS 256
#define FIRST_HOST 2
#define LAST_HOST 254
#define BRIDGE "br0"
#define ENV_IFNAME "eth0"
#define SETNS_HINT "the helper must be root, or own the network's user namespace"
#define USERNS_HINT "a rootless network needs user namespaces (see `isolated-helper probe`)"

struct network {
    char name[NETWORK_NAME_MAX + 1];
    int switch_fd; /* the switch namespace; -1: this slot is free */
    int userns_fd; /* rootless: U_S, owning the switch and every member (see above); else -1 */
    bool subids;   /* rootless: U_S maps the caller's subordinate ids too (user-map=subids) */
    int members;   /* envs that opened it: joined, or still being created */
    int next_host;
    unsigned char used[32]; /* bitmap of hosts 0..255 */
};

static struct network networks[SUBNETS];
static bool table_ready;
static int next_subnet;

bool network_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > NETWORK_NAME_MAX)
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

void net_member_init(struct net_member *m)
{
    memset(m, 0, sizeof *m);
    m->network = -1;
}

/* ---- rtnetlink messages ---- */

struct nl_msg {
    struct nlmsghdr hdr;
    char data[1024];
};

static void *nl_tail(struct nl_msg *m)
{
    return (char *)m + NLMSG_ALIGN(m->hdr.nlmsg_len);
}

/* A request of TYPE whose fixed header (ifinfomsg, ifaddrmsg) is BODY. */
static void nl_begin(struct nl_msg *m, int type, int flags, const void *body, size_t len)
{
    memset(m, 0, sizeof *m);
    m->hdr.nlmsg_len = NLMSG_LENGTH(len);
    m->hdr.nlmsg_type = (unsigned short)type;
    m->hdr.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
    memcpy(NLMSG_DATA(&m->hdr), body, len);
}

static struct rtattr *nl_attr(struct nl_msg *m, int type, const void *data, size_t len)
{
    struct rtattr *a = nl_tail(m);
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    m->hdr.nlmsg_len = NLMSG_ALIGN(m->hdr.nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
}

static void nl_attr_str(struct nl_msg *m, int type, const char *s)
{
    nl_attr(m, type, s, strlen(s) + 1);
}

static void nl_nest_end(struct nl_msg *m, struct rtattr *nest)
{
    nest->rta_len = (unsigned short)((char *)nl_tail(m) - (char *)nest);
}

/* Sends M and waits for the kernel's ACK; -1 with errno = the kernel's error. */
static int nl_talk(int sock, struct nl_msg *m)
{
    static unsigned seq;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    m->hdr.nlmsg_seq = ++seq;
    if (sendto(sock, m, m->hdr.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return -1;
    char buf[4096];
    for (;;) {
        ssize_t n = recv(sock, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != m->hdr.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
                continue;
            int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
            errno = -err;
            return err ? -1 : 0;
        }
    }
}

/* A NETLINK_ROUTE socket in the caller's current network namespace. */
static int open_rtnetlink(const char *where)
{
    int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (sock < 0)
        die("network", "socket", where, "NETLINK_ROUTE sockets must be available");
    return sock;
}

/* ---- link operations (in the children; they die() on failure) ---- */

static void create_bridge(int sock)
{
    struct nl_msg m;
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
    nl_begin(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
    nl_attr_str(&m, IFLA_IFNAME, BRIDGE);
    struct rtattr *info = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
    nl_attr_str(&m, IFLA_INFO_KIND, "bridge");
    nl_nest_end(&m, info);
    if (nl_talk(sock, &m) < 0)
        die("network", "RTM_NEWLINK bridge", BRIDGE,
            "the kernel needs bridge support (CONFIG_BRIDGE, module `bridge`)");
}

/* Sets IFNAME up; with master > 0 also enslaves it to that bridge. */
static void set_link_up(int sock, const char *ifname, int master)
{
    struct nl_msg m;
    int index = (int)if_nametoindex(ifname);
    if (index == 0)
        die("network", "if_nametoindex", ifname, "the interface vanished while being set up");
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP,
                             .ifi_change = IFF_UP };
    nl_begin(&m, RTM_NEWLINK, 0, &ifi, sizeof ifi);
    if (master > 0)
        nl_attr(&m, IFLA_MASTER, &master, sizeof master);
    if (nl_talk(sock, &m) < 0)
        die("network", master > 0 ? "RTM_NEWLINK master" : "RTM_NEWLINK up", ifname,
            "the kernel refused to set the interface up");
}

/* veth pair: PORT here, its peer ENV_IFNAME created right in the env's namespace. */
static void create_veth(int sock, const char *port, int env_netns_fd)
{
    struct nl_msg m;
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
    nl_begin(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
    nl_attr_str(&m, IFLA_IFNAME, port);
    struct rtattr *info = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
    nl_attr_str(&m, IFLA_INFO_KIND, "veth");
    struct rtattr *data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
    struct rtattr *peer = nl_attr(&m, VETH_INFO_PEER, &ifi, sizeof ifi);
    nl_attr_str(&m, IFLA_IFNAME, ENV_IFNAME);
    nl_attr(&m, IFLA_NET_NS_FD, &env_netns_fd, sizeof env_netns_fd);
    nl_nest_end(&m, peer);
    nl_nest_end(&m, data);
    nl_nest_end(&m, info);
    if (nl_talk(sock, &m) < 0)
        die("network", "RTM_NEWLINK veth", port, "%s",
            errno == EEXIST ? "the environment already has an eth0"
                            : "the kernel needs veth support (CONFIG_VETH, module `veth`)");
}

static void add_address(int sock, const char *ifname, const char *ip)
{
    struct nl_msg m;
    struct in_addr addr;
    int index = (int)if_nametoindex(ifname);
    if (index == 0 || inet_pton(AF_INET, ip, &addr) != 1)
        die("network", "if_nametoindex", ifname, "the environment's end of the veth vanished");
    struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = 24,
                             .ifa_scope = RT_SCOPE_UNIVERSE, .ifa_index = (unsigned)index };
    nl_begin(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
    nl_attr(&m, IFA_LOCAL, &addr, sizeof addr);
    nl_attr(&m, IFA_ADDRESS, &addr, sizeof addr);
    if (nl_talk(sock, &m) < 0)
        die("network", "RTM_NEWADDR", ip, "the kernel refused the address on %s", ifname);
}

static void enter_netns(int fd, const char *what)
{
    if (setns(fd, CLONE_NEWNET) < 0)
        die("network", "setns", what, SETNS_HINT);
}

/* Rootless: into the network's user namespace, where we are root (a no-op for a root helper). */
static void enter_network_userns(int userns_fd)
{
    if (userns_fd >= 0 && setns(userns_fd, CLONE_NEWUSER) < 0)
        die("network", "setns", "user (the network's)", SETNS_HINT);
}

/* ---- children ---- */

static void reap(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* The child's next report, 'u' (unshared its user namespace) or 'r' (ready), in *tag; else
 * (its failure, or EOF: it died) -1 with *f, the child killed and reaped. */
static int next_report(pid_t pid, int report, char *tag, struct failure *f)
{
    struct status_msg msg;
    int rc = read_status(report, &msg);
    if (rc == 1 && (msg.tag == 'u' || msg.tag == 'r')) {
        *tag = msg.tag;
        return 0;
    }
    int status = 0;
    kill(pid, SIGKILL); /* a no-op after 'e': it is exiting anyway */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc == 1 && msg.tag == 'e') {
        *f = msg.failure;
        return -1;
    }
    errno = ECHILD;
    return fail(f, "network", "fork", "", "the network setup process died (status 0x%x)", status);
}

struct switch_pipes {
    int report; /* write: 'u', 'r' or 'e' */
    int go;     /* read: a byte once U_S's maps are written (rootless) */
    int hold;   /* read: EOF once the helper holds the namespaces */
};

static NORETURN void switch_main(struct switch_pipes p, bool own_userns)
{
    char byte;
    set_failure_sink(p.report);
    if (own_userns) {
        if (unshare(CLONE_NEWUSER) < 0)
            die("network", "unshare", "CLONE_NEWUSER", USERNS_HINT);
        send_status(p.report, 'u', 0);
        if (read(p.go, &byte, 1) != 1)
            _exit(1); /* the helper could not write the maps */
    }
    if (unshare(CLONE_NEWNET) < 0)
        die("network", "unshare", "CLONE_NEWNET", SETNS_HINT);
    int sock = open_rtnetlink("switch");
    create_bridge(sock);
    set_link_up(sock, BRIDGE, 0);
    send_status(p.report, 'r', 0);
    (void)read(p.hold, &byte, 1); /* EOF: the helper holds the namespaces now */
    _exit(0);
}

static int open_ns(pid_t pid, const char *kind, int *out, struct failure *f)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, kind);
    if ((*out = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return fail(f, "network", "open", path, NULL);
    return 0;
}

/* Drives the switch child PID to ready: (rootless) writes U_S's maps on its 'u', then opens
 * its namespaces. -1: the child was reaped already (*reaped) or still waits for EOF on hold. */
static int take_switch(struct network *net, pid_t pid, int report, int go,
                       const struct id_map_plan *maps, bool *reaped, struct failure *f)
{
    char tag = 0;
    *reaped = true;
    if (next_report(pid, report, &tag, f) < 0)
        return -1;
    if (tag == 'u') {
        if (write_id_maps(pid, maps, f) < 0) {
            kill(pid, SIGKILL);
            reap(pid);
            return -1;
        }
        (void)write_all(go, "g", 1);
        if (next_report(pid, report, &tag, f) < 0)
            return -1;
    }
    *reaped = false;
    if (open_ns(pid, "net", &net->switch_fd, f) < 0)
        return -1;
    if (maps && open_ns(pid, "user", &net->userns_fd, f) < 0) {
        close(net->switch_fd);
        net->switch_fd = -1;
        return -1;
    }
    return 0;
}

/* A fresh switch namespace with br0 up, in net->switch_fd; with MAPS (rootless) inside a new
 * user namespace mapped so, in net->userns_fd. */
static int create_switch(struct network *net, const struct id_map_plan *maps, struct failure *f)
{
    int report[2], go[2], hold[2];
    if (pipe2(report, O_CLOEXEC) < 0)
        return fail(f, "network", "pipe2", "", NULL);
    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0) {
        close(report[0]);
        close(report[1]);
        return fail(f, "network", "pipe2", "", NULL);
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        close(go[1]);
        close(hold[1]);
        switch_main((struct switch_pipes){ report[1], go[0], hold[0] }, maps != NULL);
    }
    close(report[1]);
    close(go[0]);
    close(hold[0]);
    bool reaped = true;
    int rc = pid < 0 ? fail(f, "network", "fork", "", NULL)
                     : take_switch(net, pid, report[0], go[1], maps, &reaped, f);
    close(report[0]);
    close(go[1]);
    close(hold[1]);
    if (!reaped)
        reap(pid);
    return rc;
}

struct wiring {
    int userns_fd, switch_fd, env_netns_fd;
    uint32_t env_id;
    const char *ip;
};

static NORETURN void wire_main(const struct wiring *w, int report)
{
    char port[IFNAMSIZ];
    set_failure_sink(report);
    snprintf(port, sizeof port, "veth%u", w->env_id);
    enter_network_userns(w->userns_fd);
    enter_netns(w->switch_fd, "switch");
    int sw = open_rtnetlink("switch");
    create_veth(sw, port, w->env_netns_fd);
    set_link_up(sw, port, (int)if_nametoindex(BRIDGE));
    enter_netns(w->env_netns_fd, "/proc/PID/ns/net");
    int env = open_rtnetlink(ENV_IFNAME);
    add_address(env, ENV_IFNAME, w->ip);
    set_link_up(env, ENV_IFNAME, 0);
    send_status(report, 'r', 0);
    _exit(0);
}

static int wire_member(const struct wiring *w, struct failure *f)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0)
        return fail(f, "network", "pipe2", "", NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        wire_main(w, report[1]);
    }
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        return fail(f, "network", "fork", "", NULL);
    }
    char tag;
    int rc = next_report(pid, report[0], &tag, f);
    close(report[0]);
    if (rc == 0)
        reap(pid);
    return rc;
}

/* ---- the helper's table ---- */

static void init_table(void)
{
    if (table_ready)
        return;
    table_ready = true;
    for (int k = 0; k < SUBNETS; k++)
        networks[k].switch_fd = networks[k].userns_fd = -1;
}

static int find_network(const char *name)
{
    for (int k = 0; k < SUBNETS; k++)
        if (networks[k].switch_fd >= 0 && strcmp(networks[k].name, name) == 0)
            return k;
    return -1;
}

/* A new network NAME: a free subnet and a switch (rootless: MAPS for its user namespace). */
static int create_network(const char *name, const struct id_map_plan *maps, struct failure *f)
{
    int k = -1;
    for (int i = 0; i < SUBNETS && k < 0; i++)
        if (networks[(next_subnet + i) % SUBNETS].switch_fd < 0)
            k = (next_subnet + i) % SUBNETS;
    if (k < 0) {
        errno = ENOSPC;
        return fail(f, "network", "allocate", name, "at most %d networks per helper", SUBNETS);
    }
    struct network *net = &networks[k];
    memset(net, 0, sizeof *net);
    net->switch_fd = net->userns_fd = -1;
    if (create_switch(net, maps, f) < 0)
        return -1;
    snprintf(net->name, sizeof net->name, "%s", name);
    net->subids = maps && maps->kind == USER_MAP_SUBIDS;
    net->next_host = FIRST_HOST;
    next_subnet = (k + 1) % SUBNETS;
    return k;
}

/* Rootless: every member lives in U_S, mapped once for all (see the header). */
static int check_user_map(const struct network *net, enum user_map map, struct failure *f)
{
    if (net->subids == (map == USER_MAP_SUBIDS))
        return 0;
    errno = EINVAL;
    return fail(f, "network", "user-map", net->name,
                "the members of a rootless network share its user namespace, created for the "
                "first one: `%s` needs user-map=%s", net->name,
                net->subids ? "subids (userMapping = SUBIDS)" : "root or self (userMapping = ROOT or SELF)");
}

static int allocate_host(struct network *net, struct failure *f)
{
    for (int i = 0; i <= LAST_HOST - FIRST_HOST; i++) {
        int n = FIRST_HOST + (net->next_host - FIRST_HOST + i) % (LAST_HOST - FIRST_HOST + 1);
        if (!(net->used[n / 8] & (1u << (n % 8)))) {
            net->used[n / 8] |= (unsigned char)(1u << (n % 8));
            net->next_host = n + 1 > LAST_HOST ? FIRST_HOST : n + 1;
            return n;
        }
    }
    errno = ENOSPC;
    return fail(f, "network", "allocate", net->name, "at most %d environments per network",
                LAST_HOST - FIRST_HOST + 1);
}

static void release_network(int k)
{
    struct network *net = &networks[k];
    if (net->members > 0 || net->switch_fd < 0)
        return;
    close(net->switch_fd); /* the kernel removes the namespace, its bridge and ports */
    net->switch_fd = -1;
    if (net->userns_fd >= 0)
        close(net->userns_fd);
    net->userns_fd = -1;
}

int network_open(const char *name, bool rootless, enum user_map map, struct net_member *m,
                 struct failure *f)
{
    struct id_map_plan plan;
    init_table();
    net_member_init(m);
    int k = find_network(name);
    if (k >= 0 && rootless && check_user_map(&networks[k], map, f) < 0)
        return -1;
    if (k < 0 && rootless &&
        plan_id_maps(map == USER_MAP_SUBIDS ? USER_MAP_SUBIDS : USER_MAP_ROOT, &plan, f) < 0)
        return -1;
    if (k < 0 && (k = create_network(name, rootless ? &plan : NULL, f)) < 0)
        return -1;
    networks[k].members++;
    m->network = k;
    snprintf(m->name, sizeof m->name, "%s", name);
    return 0;
}

int network_userns_fd(const struct net_member *m)
{
    return m->network < 0 ? -1 : networks[m->network].userns_fd;
}

int network_join(int env_netns_fd, uint32_t env_id, struct net_member *m, struct failure *f)
{
    struct network *net = &networks[m->network];
    int host = allocate_host(net, f);
    if (host < 0)
        return -1;
    snprintf(m->ip, sizeof m->ip, "10.213.%d.%d", m->network, host);
    struct wiring w = { net->userns_fd, net->switch_fd, env_netns_fd, env_id, m->ip };
    if (wire_member(&w, f) < 0) {
        net->used[host / 8] &= (unsigned char)~(1u << (host % 8));
        m->ip[0] = '\0';
        return -1;
    }
    m->host = host;
    return 0;
}

void network_leave(struct net_member *m)
{
    if (m->network < 0)
        return;
    struct network *net = &networks[m->network];
    if (m->host > 0)
        net->used[m->host / 8] &= (unsigned char)~(1u << (m->host % 8));
    net->members--;
    release_network(m->network);
    net_member_init(m);
}
