package dev.isolated.internal.helper;

import dev.isolated.EnvironmentSetupException;
import dev.isolated.internal.api.PublicObjects;

/** An ERROR frame from the helper, carried until the caller turns it into a user-facing exception. */
public final class HelperErrorException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Fields fields;

    /**
     * @param fields the ERROR frame's record
     */
    public HelperErrorException(Fields fields) {
        super("isolated-helper error " + fields);
        this.fields = fields;
    }

    /** @return the error's record: stage, syscall, path, errno, errname, message, hint, kind */
    public Fields fields() {
        return fields;
    }

    /**
     * @return what kind of failure the helper says it is ({@code kind=}); {@link FailureKind#TEST} when it says
     *     none it knows
     */
    public FailureKind kind() {
        return fields.get("kind").flatMap(FailureKind::ofWireName).orElse(FailureKind.TEST);
    }

    /** @return the error as the public setup exception */
    public EnvironmentSetupException toSetupException() {
        int errno;
        try {
            errno = Integer.parseInt(fields.get("errno").orElse("0"));
        } catch (NumberFormatException e) {
            errno = 0;
        }
        EnvironmentSetupException ex = PublicObjects.setupException(
                fields.get("stage").orElse("unknown"),
                fields.getOrEmpty("syscall"),
                fields.getOrEmpty("path"),
                errno,
                fields.getOrEmpty("errname"),
                fields.getOrEmpty("message"),
                fields.getOrEmpty("hint"),
                kind() == FailureKind.HOST);
        ex.initCause(this);
        return ex;
    }
}
