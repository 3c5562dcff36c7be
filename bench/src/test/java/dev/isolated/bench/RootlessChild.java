package dev.isolated.bench;

import dev.isolated.IsolatedEnvironment;

/**
 * The child JVM of {@link RootlessBench}, run as uid 65534: RUNS rounds (its argument) of an exec into a running
 * environment, a one-shot and a {@code ProcessBuilder("/bin/true")}, after a warm-up of a third as many; prints
 * {@code exec}, {@code oneshot} and {@code floor}, each with a tab and its nanoseconds, space-separated.
 */
final class RootlessChild {
    private RootlessChild() {}

    public static void main(String[] args) throws Exception {
        int runs = Integer.parseInt(args[0]);
        long[] exec = new long[runs];
        long[] oneShot = new long[runs];
        long[] floor = new long[runs];
        try (IsolatedEnvironment env =
                IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
            for (int i = -runs / 3; i < runs; i++) {
                long a = System.nanoTime();
                check(env.exec("/bin/true").exitCode());
                long b = System.nanoTime();
                try (IsolatedEnvironment fresh =
                        IsolatedEnvironment.builder().rootfs("busybox.tar").start()) {
                    check(fresh.exec("/bin/true").exitCode());
                }
                long c = System.nanoTime();
                check(new ProcessBuilder("/bin/true").start().waitFor());
                long d = System.nanoTime();
                if (i >= 0) {
                    exec[i] = b - a;
                    oneShot[i] = c - b;
                    floor[i] = d - c;
                }
            }
        }
        print("exec", exec);
        print("oneshot", oneShot);
        print("floor", floor);
    }

    private static void check(int exitCode) {
        if (exitCode != 0) {
            throw new IllegalStateException("/bin/true exited with " + exitCode);
        }
    }

    private static void print(String name, long[] nanos) {
        StringBuilder sb = new StringBuilder(name).append('\t');
        for (int i = 0; i < nanos.length; i++) {
            sb.append(i == 0 ? "" : " ").append(nanos[i]);
        }
        System.out.println(sb);
    }
}
