/*
 * net-probe - test only, built static by NetProbe so that it runs inside any image:
 *   net-probe tcp ADDR PORT       exit 0 when a TCP connection to ADDR:PORT is accepted, else 1
 *   net-probe abstract NAME       exit 0 when the abstract unix socket "\0NAME" accepts a connection
 *   net-probe listen-abstract NAME  binds and listens on "\0NAME", prints "ready", accepts until killed
 * Busybox has no client for abstract sockets, and Java's UnixDomainSocketAddress cannot name one.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t abstract_address(struct sockaddr_un *sun, const char *name)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    size_t n = strnlen(name, sizeof sun->sun_path - 1);
    memcpy(sun->sun_path + 1, name, n); /* sun_path[0] == '\0': abstract */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int tcp(const char *addr, const char *port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
        return 2;
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        perror("net-probe: connect");
        return 1;
    }
    puts("connected");
    return 0;
}

static int abstract(const char *name, int listening)
{
    struct sockaddr_un sun;
    socklen_t len = abstract_address(&sun, name);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 2;
    if (!listening) {
        if (connect(fd, (struct sockaddr *)&sun, len) < 0) {
            perror("net-probe: connect");
            return 1;
        }
        puts("connected");
        return 0;
    }
    if (bind(fd, (struct sockaddr *)&sun, len) < 0 || listen(fd, 16) < 0) {
        perror("net-probe: bind");
        return 2;
    }
    puts("ready");
    fflush(stdout);
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c >= 0)
            close(c);
    }
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "tcp") == 0)
        return tcp(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "abstract") == 0)
        return abstract(argv[2], 0);
    if (argc == 3 && strcmp(argv[1], "listen-abstract") == 0)
        return abstract(argv[2], 1);
    fprintf(stderr, "usage: net-probe tcp ADDR PORT | abstract NAME | listen-abstract NAME\n");
    return 2;
}
