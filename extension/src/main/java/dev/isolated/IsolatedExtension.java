package dev.isolated;

import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.EnvironmentSpec;
import dev.isolated.internal.helper.SharedHelper;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;
import org.opentest4j.TestAbortedException;

/**
 * The extension behind {@link Isolated}: creates the test's environment before each test, injects it
 * as an {@link IsolatedEnvironment} parameter, and closes it after the test. Registered by the
 * annotation; not API.
 */
class IsolatedExtension implements BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private static final Namespace NAMESPACE = Namespace.create(IsolatedExtension.class);
    private static final String ENVIRONMENT_KEY = "environment";

    @Override
    public void beforeEach(ExtensionContext context) {
        Optional<IsolatedSettings> settings = IsolatedSettings.of(context);
        if (settings.isEmpty()) {
            return;
        }
        Environment env = create(settings.get());
        context.getStore(NAMESPACE).put(ENVIRONMENT_KEY, env);
    }

    private static Environment create(IsolatedSettings settings) {
        Path rootfs = settings.rootfsDirectory();
        EnvironmentSpec spec = new EnvironmentSpec(rootfs, settings.namespaces(), settings.hostname(),
                settings.execTimeout());
        try {
            return Environment.create(SharedHelper.get(), spec);
        } catch (EnvironmentSetupException e) {
            if (e.hostCannot()) {
                throw new TestAbortedException("This host cannot create the isolated environment "
                        + settings.namespaces() + ": " + e.getMessage(), e);
            }
            throw e;
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Environment env = context.getStore(NAMESPACE).remove(ENVIRONMENT_KEY, Environment.class);
        if (env != null) {
            env.close();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == IsolatedEnvironment.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        Environment env = extensionContext.getStore(NAMESPACE).get(ENVIRONMENT_KEY, Environment.class);
        if (env == null) {
            throw new ParameterResolutionException("No isolated environment for parameter "
                    + parameterContext.getParameter() + " of " + parameterContext.getDeclaringExecutable()
                    + ": environments are made per test method. Annotate the test method or its class with "
                    + "@Isolated, and take IsolatedEnvironment in @Test or @BeforeEach/@AfterEach methods, "
                    + "not in constructors or @BeforeAll methods.");
        }
        return env;
    }

    /** Reads the effective {@code @Isolated} of a test method (the method's wins over its class's). */
    static Optional<Isolated> findAnnotation(ExtensionContext context) {
        Optional<Method> method = context.getTestMethod();
        Optional<Isolated> onMethod = method.flatMap(m -> AnnotationSupport.findAnnotation(m, Isolated.class));
        Optional<Isolated> onClass = classAnnotation(context);
        return onMethod.isPresent() ? onMethod : onClass;
    }

    static Optional<Isolated> classAnnotation(ExtensionContext context) {
        for (Optional<Class<?>> c = context.getTestClass(); c.isPresent(); c = enclosing(c.get())) {
            Optional<Isolated> found = AnnotationSupport.findAnnotation((AnnotatedElement) c.get(), Isolated.class);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    private static Optional<Class<?>> enclosing(Class<?> c) {
        return Optional.ofNullable(c.getEnclosingClass());
    }

    static Set<dev.isolated.Namespace> withUserWhenRootless(Set<dev.isolated.Namespace> requested, boolean root) {
        Set<dev.isolated.Namespace> ns = requested.isEmpty() ? EnumSet.noneOf(dev.isolated.Namespace.class)
                : EnumSet.copyOf(requested);
        if (!root) {
            ns.add(dev.isolated.Namespace.USER);
        }
        return ns;
    }
}
