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
 * The environment's service: the image's own command ({@code Entrypoint} + {@code Cmd}) is started when the
 * environment is made, and the test gets the environment only once the service is ready, as
 * {@link IsolatedEnvironment#startImageCommand(Wait, String...)} does. {@link IsolatedEnvironment#service()} returns
 * it. Every wait given is met, in the order of the attributes ({@link Wait#allOf}); none means the service is
 * started without waiting.
 *
 * <pre>{@code
 * @Isolated(image = "postgres:16")
 * @StartImageCommand(logLine = "database system is ready to accept connections", logLineTimes = 2, ports = 5432)
 * class PostgresTest {
 *     @Test
 *     void answers(IsolatedEnvironment env) { ... env.mappedPort(5432) ... }
 * }
 * }</pre>
 *
 * <p>On a class it applies to the environments of all its tests, those of {@code @Isolated} parameters included
 * (with {@code lifecycle = PER_CLASS}, to the one they share); on a method it replaces the class's, for the
 * method's {@code @Isolated} parameters too, on an {@code @Isolated} parameter it replaces both for that parameter,
 * and on a method of a {@code PER_CLASS} class it fails the test, as {@link Bind} does (so
 * does a parameter without its own {@code @Isolated}: only an environment made for the parameter starts a service of
 * its own). A service that is not ready fails the test with the {@link ServiceNotReadyException} (on a
 * {@code PER_CLASS} class, the class: none of its tests runs); its environment is closed.
 *
 * <p>It may be used as a meta-annotation to create a composed annotation. Two annotations of one class, method,
 * parameter or composed annotation that carry different {@code @StartImageCommand} settings (two composed ones, or one
 * and a {@code @StartImageCommand}), of which JUnit would silently take the first, fail the class or test with an
 * {@link org.junit.jupiter.api.extension.ExtensionConfigurationException} naming them, e.g.
 * {@code @PostgresReady and @PostgresListening on class PostgresTest carry different @StartImageCommand settings, and
 * only one can apply: keep one of them (a @StartImageCommand on a test method replaces its class's, for settings of
 * some tests only)}; on a parameter, the test fails with JUnit's
 * {@link org.junit.jupiter.api.extension.ParameterResolutionException}, whose message ends with that. Ones with equal
 * settings are fine.
 *
 * @since 0.1
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.PARAMETER, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@API(status = EXPERIMENTAL, since = "0.1")
public @interface StartImageCommand {

    /** {@return the arguments replacing the image's {@code Cmd}, as {@code docker run IMAGE ARGS...}; none keeps it} */
    String[] args() default {};

    /** {@return a regular expression a line of the service's output must match ({@link Wait#forLogLine}); none by default} */
    String logLine() default "";

    /** {@return how many lines must match {@link #logLine()}; default 1} */
    int logLineTimes() default 1;

    /** {@return TCP ports that must listen in the environment ({@link Wait#forPort})} */
    int[] ports() default {};

    /** {@return a port whose HTTP endpoint {@link #httpPath()} must answer with {@link #httpStatus()} ({@link Wait#forHttp}); 0 for none} */
    int httpPort() default 0;

    /** {@return the path of the HTTP request; default {@code /}} */
    String httpPath() default "/";

    /** {@return the statuses that make the HTTP endpoint ready; default 200} */
    int[] httpStatus() default {200};

    /** {@return whether the image's {@code HEALTHCHECK} must pass ({@link Wait#forHealthcheck()})} */
    boolean healthcheck() default false;

    /**
     * {@return the environment's startup timeout, e.g. {@code 500ms}, {@code 30s}, {@code 2m}; empty for
     *     {@value IsolatedConfiguration#STARTUP_TIMEOUT}, by default 60 s}
     */
    String startupTimeout() default "";
}
