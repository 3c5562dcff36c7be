package dev.isolated;

import static org.apiguardian.api.API.Status.DEPRECATED;

import java.util.EnumSet;
import java.util.Set;
import org.apiguardian.api.API;

/**
 * The old name of {@link LinuxNamespace}: the same constants, kept for one release. It was renamed because it
 * clashed with JUnit's {@code ExtensionContext.Namespace} in every extension that uses both.
 *
 * <p>Code that uses it keeps compiling, with a removal warning: {@link IsolatedEnvironmentBuilder#namespaces(Namespace,
 * Namespace...)} and {@link IsolatedEnvironment#enter(Namespace, Namespace...)} take it, and
 * {@link #linuxNamespace()} converts. {@link Isolated#namespaces()} takes only {@link LinuxNamespace} (an annotation
 * element has one type, and Java has no type alias), so an annotation that names these constants needs the
 * README's one-line migration: {@code import static dev.isolated.Namespace.*;} becomes
 * {@code import static dev.isolated.LinuxNamespace.*;}.
 *
 * @since 0.1
 * @deprecated use {@link LinuxNamespace}, which has the same constants; this enum goes in the release after 0.1
 */
@Deprecated(since = "0.1", forRemoval = true)
@API(status = DEPRECATED, since = "0.1")
public enum Namespace {
    /** The same as {@link LinuxNamespace#PID}. */
    PID,
    /** The same as {@link LinuxNamespace#MOUNT}. */
    MOUNT,
    /** The same as {@link LinuxNamespace#UTS}. */
    UTS,
    /** The same as {@link LinuxNamespace#IPC}. */
    IPC,
    /** The same as {@link LinuxNamespace#NET}. */
    NET,
    /** The same as {@link LinuxNamespace#USER}. */
    USER,
    /** The same as {@link LinuxNamespace#CGROUP}. */
    CGROUP,
    /** The same as {@link LinuxNamespace#TIME}. */
    TIME;

    /** {@return the {@link LinuxNamespace} of the same name} */
    public LinuxNamespace linuxNamespace() {
        return LinuxNamespace.valueOf(name());
    }

    /**
     * {@return the lower-case short name of this namespace, as {@link LinuxNamespace#shortName()}}
     */
    public String shortName() {
        return linuxNamespace().shortName();
    }

    /**
     * Parses a namespace name as {@link LinuxNamespace#parse(String)} does.
     *
     * @param name the name to parse
     * @return the namespace
     * @throws IllegalArgumentException naming the allowed values when {@code name} is not one of them
     */
    public static Namespace parse(String name) {
        return valueOf(LinuxNamespace.parse(name).name());
    }

    static LinuxNamespace[] linuxNamespaces(Namespace first, Namespace... more) {
        Set<LinuxNamespace> all = EnumSet.of(first.linuxNamespace());
        for (Namespace ns : more) {
            all.add(ns.linuxNamespace());
        }
        return all.toArray(LinuxNamespace[]::new);
    }
}
