/*
 * probe.h - `isolated-helper probe`: what works on this host, step by step.
 */
#ifndef ISOLATED_PROBE_H
#define ISOLATED_PROBE_H

#include <stdbool.h>

/* Prints one line (or JSON object) per step; returns 0. */
int probe_main(bool json);

#endif
