/*
 * serve.h - the resident protocol server of PROTOCOL.md on stdin/stdout.
 */
#ifndef ISOLATED_SERVE_H
#define ISOLATED_SERVE_H

int serve_main(const char *state_dir);

#endif
