package dev.isolated;

import java.lang.reflect.AnnotatedElement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

/** Turns the innermost {@link StartImageCommand} into the builder's service and startup timeout. */
final class ServiceAnnotation {

    private ServiceAnnotation() {}

    /**
     * @param builder the environment's builder
     * @param sources the elements whose annotations apply, outermost first (the last one found wins)
     */
    static void apply(IsolatedEnvironmentBuilder builder, List<AnnotatedElement> sources) {
        StartImageCommand found = null;
        for (AnnotatedElement element : sources) {
            found = SingleAnnotations.find(element, StartImageCommand.class).orElse(found);
        }
        if (found == null) {
            return;
        }
        StartImageCommand service = found;
        try {
            if (!service.startupTimeout().isEmpty()) {
                builder.startupTimeout(
                        IsolatedSettings.parseDuration("@StartImageCommand(startupTimeout)", service.startupTimeout()));
            }
            Optional<Wait> wait = wait(service);
            if (wait.isPresent()) {
                builder.startImageCommand(wait.get(), service.args());
            } else {
                builder.startImageCommand(service.args());
            }
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException("@StartImageCommand: " + e.getMessage(), e);
        }
    }

    /** The annotation's waits, all of them in attribute order; empty when it gives none. */
    static Optional<Wait> wait(StartImageCommand service) {
        List<Wait> waits = new ArrayList<>();
        if (!service.logLine().isEmpty()) {
            waits.add(Wait.forLogLine(service.logLine(), service.logLineTimes()));
        }
        for (int port : service.ports()) {
            waits.add(Wait.forPort(port));
        }
        if (service.httpPort() != 0) {
            waits.add(Wait.forHttp(service.httpPort(), service.httpPath()).forStatus(service.httpStatus()));
        }
        if (service.healthcheck()) {
            waits.add(Wait.forHealthcheck());
        }
        return waits.isEmpty()
                ? Optional.empty()
                : Optional.of(waits.size() == 1 ? waits.get(0) : Wait.allOf(waits.toArray(Wait[]::new)));
    }
}
