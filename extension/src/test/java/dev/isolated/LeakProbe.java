package dev.isolated;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.EnvironmentSpec;
import dev.isolated.internal.helper.SharedHelper;
import dev.isolated.internal.image.RootfsImages;
import java.time.Duration;
import java.util.EnumSet;

/**
 * A child JVM for {@link LeakTests}: opens an environment running {@code sleep <marker>}, and eight more
 * from parallel threads, each running {@code sleep <marker>} too; then prints
 * {@code READY <init host pid> <sleep host pid> <helper pid>} and waits to be killed.
 */
public final class LeakProbe {
    private LeakProbe() {}

    public static void main(String[] args) throws InterruptedException {
        String marker = args[0];
        Environment env = Environment.create(
                SharedHelper.get(),
                EnvironmentSpec.builder()
                        .namespaces(EnumSet.of(
                                LinuxNamespace.PID, LinuxNamespace.MOUNT, LinuxNamespace.UTS, LinuxNamespace.IPC))
                        .hostname("probe")
                        .execTimeout(Duration.ofMinutes(1))
                        .build(
                                RootfsImages.unpacked("busybox.tar", LeakProbe.class.getClassLoader()),
                                ImageConfig.EMPTY));
        IsolatedProcess sleeper = env.start("sleep", marker);
        Thread[] threads = new Thread[8];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = new Thread(() ->
                    IsolatedEnvironment.builder().rootfs("busybox.tar").start().start("sleep", marker));
            threads[i].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        System.out.println("READY " + env.initHostPid() + " " + sleeper.hostPid() + " "
                + SharedHelper.get().pid());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
