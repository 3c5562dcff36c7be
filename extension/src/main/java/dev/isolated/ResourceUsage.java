package dev.isolated;

/**
 * What an environment's cgroup has counted, see {@link IsolatedEnvironment#resourceUsage()}.
 *
 * @param memoryCurrentBytes the memory its processes use now
 * @param memoryPeakBytes the most memory they used at once
 * @param processes the processes and threads now running in it
 * @param oomKills how many processes the OOM killer killed in it
 */
public record ResourceUsage(long memoryCurrentBytes, long memoryPeakBytes, long processes, long oomKills) {
}
