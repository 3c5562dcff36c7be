/**
 * Pulling images by name from OCI registries.
 *
 * <p>Not API: anything here may change or go in any release, whatever its Java visibility (it is public only
 * for Isolated's own packages).
 */
@API(status = INTERNAL, since = "0.1")
package dev.isolated.internal.registry;

import static org.apiguardian.api.API.Status.INTERNAL;

import org.apiguardian.api.API;
