package dev.isolated;

/**
 * Attached as a suppressed exception to a failing test: what its environment looked like (last commands
 * with exit codes and output, processes, mounts, hostname). It has no stack trace of its own.
 */
final class EnvironmentReport extends RuntimeException {
    private static final long serialVersionUID = 1L;

    EnvironmentReport(String report) {
        super("Isolated environment at the time of the failure:\n" + report, null, false, false);
    }
}
