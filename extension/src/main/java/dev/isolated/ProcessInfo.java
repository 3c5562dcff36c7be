package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * A process running in an environment, as the environment sees it.
 *
 * @param pid the process id inside the environment's PID namespace
 * @param hostPid the process id on the host
 * @param command the command name ({@code comm}, at most 15 characters), as {@code ps -o comm} shows it
 * @param commandLine the full command line, arguments separated by spaces (empty for kernel threads and zombies)
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public record ProcessInfo(long pid, long hostPid, String command, String commandLine) {}
