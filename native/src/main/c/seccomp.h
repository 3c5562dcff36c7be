/*
 * seccomp.h - the built-in default seccomp filter (`seccomp-profile=default`).
 */
#ifndef ISOLATED_SECCOMP_H
#define ISOLATED_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>

enum seccomp_profile { SECCOMP_UNCONFINED, SECCOMP_DEFAULT };

/* "default" or "unconfined"; -1 otherwise. */
int parse_seccomp_profile(const char *text, enum seccomp_profile *out);

/* The default filter for a command that keeps all capabilities (all_caps) or Docker's set.
 * Built on first use and kept (the helper builds both at start, so forked commands only
 * read them); NULL on an architecture it was not written for (errno ENOSYS). */
const struct sock_fprog *default_seccomp_program(bool all_caps);

/* keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): the one keyring call the default filter allows, and
 * only from here. 0, or -1 with errno. */
int seccomp_join_session_keyring(void);

#endif
