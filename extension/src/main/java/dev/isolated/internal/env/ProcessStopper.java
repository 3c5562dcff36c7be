package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import dev.isolated.ProcessInfo;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Stops every process in an environment's PID namespace except its init: SIGTERM to each (also to those that
 * appear meanwhile), then SIGKILL to what is still there after the grace period. A process is signalled through
 * a {@link ProcessHandle}, which checks its start time, so a recycled pid is never hit.
 */
final class ProcessStopper {
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);

    private ProcessStopper() {}

    static void stopAllButInit(long initHostPid, Duration grace) {
        Set<Long> termed = new HashSet<>();
        long deadline = System.nanoTime() + grace.toNanos();
        while (true) {
            List<ProcessInfo> left = others(initHostPid);
            if (left.isEmpty()) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                break;
            }
            for (ProcessInfo p : left) {
                if (termed.add(p.hostPid())) {
                    ProcessHandle.of(p.hostPid()).ifPresent(ProcessHandle::destroy);
                }
            }
            pause();
        }
        long killDeadline = System.nanoTime() + KILL_WAIT.toNanos();
        List<ProcessInfo> left = others(initHostPid);
        while (!left.isEmpty()) {
            if (System.nanoTime() - killDeadline > 0) {
                throw new IsolatedException("freeze(): processes of the environment survived SIGKILL for "
                        + KILL_WAIT.toSeconds() + " s: " + left);
            }
            left.forEach(p -> ProcessHandle.of(p.hostPid()).ifPresent(ProcessHandle::destroyForcibly));
            pause();
            left = others(initHostPid);
        }
    }

    private static List<ProcessInfo> others(long initHostPid) {
        return ProcFs.processesInPidNamespaceOf(initHostPid).stream()
                .filter(p -> p.hostPid() != initHostPid)
                .toList();
    }

    // Polling is the mechanism here: the processes are not the JVM's children and new ones may appear at any
    // time, so there is no exit to block on (ProcessHandle.onExit of a non-child polls too); /proc is re-read.
    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IsolatedException("Interrupted while freeze() waited for the environment's processes to stop", e);
        }
    }
}
