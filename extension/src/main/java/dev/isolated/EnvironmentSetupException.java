package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import java.util.Optional;
import org.apiguardian.api.API;

/**
 * An environment could not be set up. The native helper reports the step that failed ({@link #stage()}),
 * the system call, the path involved, the errno and a hint; the message shows all of them.
 *
 * <p>When {@link #hostCannot()} is true the failure is a property of the host (a kernel setting, a
 * missing permission) rather than of the test, as the helper says of it: the extension fails the test with
 * a message that says so and how to skip such tests instead ({@link Isolated#skipIfUnsupported()},
 * {@value IsolatedConfiguration#SKIP_IF_UNSUPPORTED}), and aborts it when skipping was asked for.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public class EnvironmentSetupException extends IsolatedException {
    private static final long serialVersionUID = 1L;

    private final String stage;
    private final String syscall;
    private final String path;
    private final String errname;
    private final int errno;
    private final String detail;
    private final String hint;
    private final boolean hostCannot;

    /**
     * @param stage the setup step that failed, e.g. {@code mount-proc}
     * @param syscall the system call that failed, e.g. {@code mount}, or empty
     * @param path the path involved, or empty
     * @param errno the error number, 0 when none
     * @param errname the symbolic errno, e.g. {@code EPERM}, or empty
     * @param detail the helper's message
     * @param hint what to change, or empty
     * @param hostCannot whether the host cannot do it (see {@link #hostCannot()})
     */
    EnvironmentSetupException(
            String stage,
            String syscall,
            String path,
            int errno,
            String errname,
            String detail,
            String hint,
            boolean hostCannot) {
        super(describe(stage, syscall, path, errname, detail, hint));
        this.stage = stage;
        this.syscall = syscall;
        this.path = path;
        this.errno = errno;
        this.errname = errname;
        this.detail = detail;
        this.hint = hint;
        this.hostCannot = hostCannot;
    }

    /** A copy of {@code from} whose message is {@code message} (the fields and cause stay). */
    private EnvironmentSetupException(String message, EnvironmentSetupException from) {
        super(message, from.getCause());
        this.stage = from.stage;
        this.syscall = from.syscall;
        this.path = from.path;
        this.errno = from.errno;
        this.errname = from.errname;
        this.detail = from.detail;
        this.hint = from.hint;
        this.hostCannot = from.hostCannot;
        setStackTrace(from.getStackTrace());
    }

    /**
     * @param prefix put before the message
     * @param suffix put after the message
     * @return the same failure with a message that says more, e.g. how to skip such tests
     */
    EnvironmentSetupException withMessage(String prefix, String suffix) {
        return new EnvironmentSetupException(prefix + getMessage() + suffix, this);
    }

    /**
     * @param finding a failed step of {@link HostSupport#probe()} that explains this failure
     * @return the same failure with the finding as its hint (it says more than the failed call's generic hint)
     */
    EnvironmentSetupException withProbeFinding(HostSupport.Step finding) {
        EnvironmentSetupException ex = new EnvironmentSetupException(
                stage, syscall, path, errno, errname, detail, "the host probe says " + finding, hostCannot);
        if (getCause() != null) {
            ex.initCause(getCause());
        }
        ex.setStackTrace(getStackTrace());
        return ex;
    }

    private static String describe(
            String stage, String syscall, String path, String errname, String detail, String hint) {
        StringBuilder sb = new StringBuilder("Isolated environment setup failed at stage '")
                .append(stage)
                .append('\'');
        String where = path.isEmpty() ? syscall : syscall.isEmpty() ? path : syscall + " " + path;
        boolean detailSaysWhere = !where.isEmpty() && detail.startsWith(where + ":"); // the helper's message does
        if (!syscall.isEmpty() && !detailSaysWhere) {
            sb.append(": ").append(syscall);
        }
        if (!path.isEmpty() && !detailSaysWhere) {
            sb.append(' ').append(path);
        }
        if (!detail.isEmpty()) {
            sb.append(": ").append(detail);
        }
        if (!errname.isEmpty() && !detail.contains(errname)) {
            sb.append(" (").append(errname).append(')');
        }
        if (!hint.isEmpty()) {
            sb.append("\nHint: ").append(hint);
        }
        return sb.toString();
    }

    /** {@return the setup step that failed, e.g. {@code clone}, {@code mount-proc}, {@code pivot-root}} */
    public String stage() {
        return stage;
    }

    /** {@return the system call that failed, or empty} */
    public String syscall() {
        return syscall;
    }

    /** {@return the path involved, if any} */
    public Optional<String> path() {
        return path.isEmpty() ? Optional.empty() : Optional.of(path);
    }

    /** {@return the error number, 0 when the failure has none} */
    public int errno() {
        return errno;
    }

    /** {@return the symbolic error name, e.g. {@code EPERM}, or empty} */
    public String errname() {
        return errname;
    }

    /** {@return what to change on the host or in the test, or empty} */
    public String hint() {
        return hint;
    }

    /**
     * {@return whether the host (kernel, its settings, the user's permissions) cannot do what was asked,
     *     as opposed to a mistake in the test such as a bad rootfs: the helper's verdict on its failure}
     */
    public boolean hostCannot() {
        return hostCannot;
    }
}
