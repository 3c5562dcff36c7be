package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.apiguardian.api.API;

/**
 * Shifts the environment's monotonic and boot-time clocks through a time namespace (added to the
 * environment's namespaces automatically), to test time-dependent code such as uptime checks, timers and
 * timeouts based on {@code CLOCK_MONOTONIC} or {@code CLOCK_BOOTTIME}:
 *
 * <pre>{@code @ClockOffsets(boottimeSeconds = 30 * 86400) // the machine seems up for 30 days}</pre>
 *
 * The wall clock ({@code CLOCK_REALTIME}, what {@code date} prints) cannot be shifted by any Linux
 * namespace; code that reads it sees the host's time. The kernel keeps each shifted clock between 0 and about 146
 * years: an offset past that (a negative one larger than the uptime) fails the environment's creation with an
 * {@link EnvironmentSetupException} at stage {@code time} that says so. A method's {@code @ClockOffsets} replaces its class's, a
 * class's its superclass's (it is inherited).
 *
 * <p>It may be used as a meta-annotation to create a composed annotation. Two annotations of one class, method or
 * composed annotation that carry different {@code @ClockOffsets} settings (two composed ones, or one and a
 * {@code @ClockOffsets}), of which JUnit would silently take the first, fail the class or test with an
 * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} naming them, e.g.
 * {@code @LongUptime and @ClockOffsets on method renews carry different @ClockOffsets settings, and only one can
 * apply: keep one of them (a @ClockOffsets on a test method replaces its class's, for settings of some tests only)};
 * ones with equal settings are fine.
 *
 * @since 0.1
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@API(status = EXPERIMENTAL, since = "0.1")
public @interface ClockOffsets {
    /** {@return seconds added to {@code CLOCK_MONOTONIC}} */
    long monotonicSeconds() default 0;

    /** {@return seconds added to {@code CLOCK_BOOTTIME} ({@code /proc/uptime})} */
    long boottimeSeconds() default 0;
}
