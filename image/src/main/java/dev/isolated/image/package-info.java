/**
 * Images as tests see them: the run defaults an image declares ({@link dev.isolated.image.ImageConfig}) and
 * a builder for reproducible rootfs tars without Docker ({@link dev.isolated.image.ImageBuilder}).
 */
package dev.isolated.image;
