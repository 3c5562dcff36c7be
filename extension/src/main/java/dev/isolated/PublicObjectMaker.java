package dev.isolated;

import dev.isolated.internal.api.PublicObjects;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;

/** Hands the package-private constructors of Isolated's results and exceptions to its internals ({@link PublicObjects}). */
final class PublicObjectMaker implements PublicObjects.Maker {
    static {
        PublicObjects.register(new PublicObjectMaker());
    }

    private PublicObjectMaker() {}

    @Override
    public ExecResult execResult(
            List<String> command,
            int exitCode,
            OptionalInt signal,
            byte[] stdout,
            long stdoutDroppedBytes,
            byte[] stderr,
            long stderrDroppedBytes,
            boolean timedOut,
            boolean oomKilled,
            Duration duration) {
        return new ExecResult(
                command,
                exitCode,
                signal,
                stdout,
                stdoutDroppedBytes,
                stderr,
                stderrDroppedBytes,
                timedOut,
                oomKilled,
                duration);
    }

    @Override
    public EnvironmentSetupException setupException(
            String stage,
            String syscall,
            String path,
            int errno,
            String errname,
            String detail,
            String hint,
            boolean hostCannot) {
        return new EnvironmentSetupException(stage, syscall, path, errno, errname, detail, hint, hostCannot);
    }

    @Override
    public EnvironmentCleanupException cleanupException(String message) {
        return new EnvironmentCleanupException(message);
    }

    @Override
    public AwaitTimeoutException awaitTimeout(String message) {
        return new AwaitTimeoutException(message);
    }
}
