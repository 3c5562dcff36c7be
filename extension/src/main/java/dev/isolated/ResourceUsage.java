package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import org.apiguardian.api.API;

/**
 * What an environment's cgroup has counted, see {@link IsolatedEnvironment#resourceUsage()}. With any cgroup limit
 * ({@code cpuPercent} alone too), an empty {@link Limits} or {@code builder().trackResources(true)}, the cgroup
 * counts all four wherever the host offers the memory and pids controllers. A count is -1 only when the host does
 * not: memory and {@code oomKills} without a memory controller, {@code processes} without a pids controller (cgroup
 * v2: not in the {@code cgroup.controllers} of the helper's cgroup; v1: no hierarchy of it mounted).
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
