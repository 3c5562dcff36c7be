/**
 * The reproducible tar writer the images build writes {@code busybox.tar} and {@code hello.tar} with: fixed owner, group and mtime, entries in the order given.
 *
 * <p>Not API: anything here may change or go in any release, whatever its Java visibility (it is public only
 * for Isolated's own modules).
 */
@API(status = INTERNAL, since = "0.1")
package dev.isolated.internal.tar;

import static org.apiguardian.api.API.Status.INTERNAL;

import org.apiguardian.api.API;
