package dev.isolated.internal.env;

import dev.isolated.Capabilities;
import dev.isolated.UserMapping;
import dev.isolated.internal.helper.Fields;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * The helper's CREATE request for an {@link EnvironmentSpec} and its writable layer ({@link LayerSpec}): the one
 * place that writes its keys (see native/PROTOCOL.md, CREATE fields).
 */
final class CreateRequest {
    private CreateRequest() {}

    /**
     * @param spec the environment
     * @return its CREATE fields with the helper's default writable layer (a tmpfs of the kernel's default size)
     */
    static Fields of(EnvironmentSpec spec) {
        return of(spec, null, null);
    }

    /**
     * @param spec the environment
     * @param layers its writable layer and the frozen layers under it; {@code null}: the helper's defaults
     * @param diskLayer the directory {@link LayerSpec#newDiskLayer()} made for it, {@code null} on a tmpfs
     * @return its CREATE fields
     */
    static Fields of(EnvironmentSpec spec, LayerSpec layers, Path diskLayer) {
        Fields request = Fields.of()
                .add("rootfs", spec.rootfs().toString())
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
        if (layers != null) {
            for (Path layer : layers.layers()) {
                request.add("layer", layer.toString());
            }
            if (diskLayer != null) {
                request.add("upper-dir", diskLayer.toString());
            } else if (!layers.tmpfsSize().isEmpty()) {
                request.add("upper-size", layers.tmpfsSize());
            }
        }
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
        for (Map.Entry<String, Long> rlimit : o.rlimits().entrySet()) { // not forEach(lambda): on the first test's path
            request.add("rlimit", rlimit.getKey() + "\t" + rlimit.getValue() + "\t" + rlimit.getValue());
        }
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
