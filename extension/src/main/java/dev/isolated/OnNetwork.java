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
 * Puts an environment the extension makes on an {@link IsolatedNetwork} of the test, under its hostname and
 * {@link #aliases()} (see {@link IsolatedEnvironmentBuilder#network(IsolatedNetwork, String...)}): on an
 * {@code @Isolated} parameter, that parameter's environment; on a test method, the method's environment; on a
 * test class, the environments made from the class's {@code @Isolated} (per method or per class) unless the
 * method has an {@code @OnNetwork} of its own; a subclass takes its superclass's, as it takes its {@link Isolated}.
 * A per-class environment, made before any test, can join a static
 * field's network, or an instance field's only with {@code @TestInstance(PER_CLASS)} (else the class fails, saying
 * to make the field static).
 *
 * <pre>{@code
 * @Isolated(rootfs = "busybox.tar")
 * class ShopTest {
 *     @Test
 *     void appReachesDb(IsolatedNetwork backend,
 *             @Isolated @OnNetwork(value = "backend", aliases = "db") IsolatedEnvironment db,
 *             @Isolated @OnNetwork("backend") IsolatedEnvironment app) {
 *         ...
 *         app.exec("wget", "-qO-", "http://db:8080/");
 *     }
 * }
 * }</pre>
 *
 * @since 0.1
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.PARAMETER, ElementType.METHOD, ElementType.TYPE})
@API(status = EXPERIMENTAL, since = "0.1")
public @interface OnNetwork {
    /**
     * {@return the network: the name of an {@link IsolatedNetwork} parameter of the same method (its name as
     *     compiled, which needs {@code javac -parameters}), else of an {@link IsolatedNetwork} field of the test
     *     class (or a superclass or enclosing class), static or not, which must not be null}
     */
    String value();

    /** {@return further names of the environment on the network, valid hostnames (none by default)} */
    String[] aliases() default {};
}
