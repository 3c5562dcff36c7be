package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import org.apiguardian.api.API;

/**
 * What an environment's cgroup has counted, see {@link IsolatedEnvironment#resourceUsage()}. A count is -1 when
 * the cgroup does not keep it (its controller is not enabled for the environment, e.g. memory with only a pids
 * limit).
 *
 * @param memoryCurrentBytes the memory its processes use now
 * @param memoryPeakBytes the most memory they used at once
 * @param processes the processes and threads now running in it
 * @param oomKills how many processes the OOM killer killed in it
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public record ResourceUsage(long memoryCurrentBytes, long memoryPeakBytes, long processes, long oomKills) {}
