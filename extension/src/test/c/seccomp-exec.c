/*
 * seccomp-exec FILTER CMD [ARG...] - test only: sets no_new_privs, loads the raw cBPF program in
 * FILTER (struct sock_filter in native byte order, as SeccompFilters writes it) and execs CMD.
 * The tests use it to make a host whose user namespaces are created but refuse what needs a
 * capability inside, as AppArmor's restriction on Ubuntu 24.04 does.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static struct sock_filter program[1024];
    FILE *file = argc >= 3 ? fopen(argv[1], "rb") : NULL;
    size_t n = file ? fread(program, sizeof program[0], 1024, file) : 0;
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = program };
    if (!file || n == 0) {
        fprintf(stderr, "usage: seccomp-exec FILTER CMD [ARG...] (FILTER readable, not empty)\n");
        return 125;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        perror("seccomp-exec: seccomp");
        return 125;
    }
    execvp(argv[2], argv + 2);
    perror(argv[2]);
    return 127;
}
