package dev.isolated.internal.os;

import com.sun.jna.Library;
import com.sun.jna.Native;

/**
 * The few libc calls the JDK lacks, with their native names (see the man pages of the same names).
 * Only this package uses them; everything else in Isolated goes through the JDK or the helper.
 */
interface LibC extends Library {
    LibC INSTANCE = Native.load("c", LibC.class);

    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_RDWR = 2;
    int O_CREAT = 0100;
    int O_EXCL = 0200;
    int O_TRUNC = 01000;
    int O_NONBLOCK = 04000;
    int O_DIRECTORY = 0200000;
    int O_NOFOLLOW = 0400000;
    int O_CLOEXEC = 02000000;
    int O_PATH = 010000000;

    int AT_SYMLINK_NOFOLLOW = 0x100;
    int AT_EMPTY_PATH = 0x1000;
    int STATX_BASIC_STATS = 0x7ff;

    long RESOLVE_NO_MAGICLINKS = 0x02;
    long RESOLVE_IN_ROOT = 0x10;

    /** openat2(2) has no glibc wrapper; its number is 437 on x86_64 and on the generic table (aarch64). */
    long SYS_OPENAT2 = 437;

    int open(String path, int flags);

    long syscall(long number, Object... args);

    int openat(int dirfd, String path, int flags, int mode);

    /** {@code struct statx} is the same on every architecture, unlike {@code struct stat}. */
    int statx(int dirfd, String path, int flags, int mask, com.sun.jna.Pointer buf);

    int mkdirat(int dirfd, String path, int mode);

    int symlinkat(String target, int newdirfd, String linkpath);

    long readlinkat(int dirfd, String path, byte[] buf, long bufsiz);

    int unlinkat(int dirfd, String path, int flags);

    int close(int fd);

    String strerror(int errnum);
}
