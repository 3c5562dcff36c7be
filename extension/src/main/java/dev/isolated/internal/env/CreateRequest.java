package dev.isolated.internal.env;

import dev.isolated.Capabilities;
import dev.isolated.UserMapping;
import dev.isolated.internal.helper.Fields;
import java.util.Locale;

/**
 * The helper's CREATE request for an {@link EnvironmentSpec}: the one place that writes its keys (see
 * native/PROTOCOL.md, CREATE fields). The writable layer's keys ({@code upper-dir}, {@code upper-size},
 * {@code layer}) are {@link LayerSpec}'s, which are not part of the spec.
 */
final class CreateRequest {
    private CreateRequest() {
    }

    /**
     * @param spec the environment
     * @return its CREATE fields, in the order the helper documents them
     */
    static Fields of(EnvironmentSpec spec) {
        Fields request = Fields.of().add("rootfs", spec.rootfs().toString())
                .add("ns", EnvironmentSpec.namespaceList(spec.namespaces()));
        if (!spec.hostname().isEmpty()) {
            request.add("hostname", spec.hostname());
        }
        for (ExtraMount m : spec.mounts()) {
            if (m.kind() == ExtraMount.Kind.BIND) {
                request.add("bind", m.source() + "\t" + m.target() + "\t" + (m.readOnly() ? "ro" : "rw"));
            } else {
                request.add("tmpfs", m.target() + "\t" + m.sizeBytes() + "\t1777");
            }
        }
        if (spec.readOnlyRootfs()) {
            request.add("readonly-root", "true");
        }
        addOptions(spec.options(), request);
        return request;
    }

    private static void addOptions(EnvironmentOptions o, Fields request) {
        if (o.memoryBytes() > 0) {
            request.add("memory-max", Long.toString(o.memoryBytes()));
        }
        if (o.pids() > 0) {
            request.add("pids-max", Integer.toString(o.pids()));
        }
        if (o.cpuPercent() > 0) {
            request.add("cpu-max", (o.cpuPercent() * 1000L) + "\t100000");
        }
        if (o.trackResources() && o.memoryBytes() == 0 && o.pids() == 0 && o.cpuPercent() == 0) {
            request.add("cgroup", "true");
        }
        o.rlimits().forEach((name, value) -> request.add("rlimit", name + "\t" + value + "\t" + value));
        if (o.monotonicOffsetSeconds() != 0) {
            request.add("time-offset", "monotonic\t" + o.monotonicOffsetSeconds());
        }
        if (o.boottimeOffsetSeconds() != 0) {
            request.add("time-offset", "boottime\t" + o.boottimeOffsetSeconds());
        }
        request.add("caps", o.capabilities() == Capabilities.ALL ? "all" : "default");
        if (!o.network().isEmpty()) {
            request.add("network", o.network());
        }
        request.add("seccomp-profile", o.seccompProfile());
        if (!o.seccompFilter().isEmpty()) {
            request.add("seccomp", o.seccompFilter());
        }
        if (o.userMapping() != UserMapping.ROOT) {
            request.add("user-map", o.userMapping().name().toLowerCase(Locale.ROOT));
        }
    }
}
