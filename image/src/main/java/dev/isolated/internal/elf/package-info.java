/**
 * Reads the dynamic loader an ELF executable asks for: the image builder ({@code dev.isolated.image.ImageBuilder})
 * copies it with the program; the images build rejects a program that has one.
 *
 * <p>Not API: anything here may change or go in any release, whatever its Java visibility (it is public only
 * for Isolated's own modules).
 */
@API(status = INTERNAL, since = "0.1")
package dev.isolated.internal.elf;

import static org.apiguardian.api.API.Status.INTERNAL;

import org.apiguardian.api.API;
