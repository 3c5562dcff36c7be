package dev.isolated.internal.env;

import dev.isolated.Capabilities;
import dev.isolated.Seccomp;
import dev.isolated.UserMapping;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The less common settings of an environment: resource limits, rlimits, clock offsets, capabilities, a
 * private network and the user mapping; {@link CreateRequest} writes them as the helper's CREATE fields (see
 * native/PROTOCOL.md). Their defaults are {@link EnvironmentSpec.Builder}'s.
 *
 * @param memoryBytes cgroup memory limit, 0 for none
 * @param pids cgroup pids limit, 0 for none
 * @param cpuPercent cgroup CPU limit in percent of one CPU, 0 for none
 * @param rlimits rlimits by the helper's names ({@code nofile}, {@code fsize}, {@code cpu}, ...), soft = hard
 * @param monotonicOffsetSeconds CLOCK_MONOTONIC offset (needs a time namespace)
 * @param boottimeOffsetSeconds CLOCK_BOOTTIME offset (needs a time namespace)
 * @param capabilities what the environment's root keeps
 * @param trackResources whether to make a cgroup even without limits, to read the usage
 * @param network the name of a private network to join, empty for none
 * @param seccompFilter a file with a compiled cBPF filter applied to every command, empty for none
 * @param userMapping who the caller is in the user namespace (when there is one)
 * @param seccomp whether commands run under the helper's built-in seccomp filter
 */
public record EnvironmentOptions(
        long memoryBytes,
        int pids,
        int cpuPercent,
        Map<String, Long> rlimits,
        long monotonicOffsetSeconds,
        long boottimeOffsetSeconds,
        Capabilities capabilities,
        boolean trackResources,
        String network,
        String seccompFilter,
        UserMapping userMapping,
        Seccomp seccomp) {

    /** Copies the map, unmodifiable. */
    public EnvironmentOptions {
        rlimits = Collections.unmodifiableMap(new LinkedHashMap<>(rlimits));
    }

    /** @return the helper's {@code seccomp-profile} value: {@code default} or {@code unconfined} */
    public String seccompProfile() {
        return seccomp == Seccomp.DEFAULT ? "default" : "unconfined";
    }

    boolean needsTimeNamespace() {
        return monotonicOffsetSeconds != 0 || boottimeOffsetSeconds != 0;
    }
}
