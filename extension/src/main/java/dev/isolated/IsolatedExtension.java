package dev.isolated;

import dev.isolated.internal.env.Environment;
import java.io.IOException;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ExtensionContext.Store;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.platform.commons.support.AnnotationSupport;
import org.opentest4j.TestAbortedException;

/**
 * The extension behind {@link Isolated}: creates environments (per test method, per class, or per
 * annotated parameter), injects them as {@link IsolatedEnvironment} parameters, closes them when their
 * test or class ends, and attaches an environment report to failures. Registered by the annotation;
 * not API.
 */
class IsolatedExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback,
        ParameterResolver, TestExecutionExceptionHandler {
    private static final Namespace NAMESPACE = Namespace.create(IsolatedExtension.class);
    private static final String METHOD_ENVIRONMENT = "environment";
    private static final String CLASS_ENVIRONMENT = "class-environment";
    private static final String PARAMETER_ENVIRONMENTS = "parameter-environments";
    /** Configuration parameter: keep the writable layer of a failed test's environment on disk. */
    static final String KEEP_ON_FAILURE_PROPERTY = "isolated.keepOnFailure";
    /** Configuration parameter: where kept layers go (default {@code target/isolated-failures}). */
    static final String KEEP_DIR_PROPERTY = "isolated.keepOnFailure.dir";

    @Override
    public void beforeAll(ExtensionContext context) {
        Class<?> testClass = context.getRequiredTestClass();
        Optional<Isolated> declared = AnnotationSupport.findAnnotation(testClass, Isolated.class);
        if (declared.isPresent() && declared.get().lifecycle() == Isolated.Lifecycle.PER_CLASS) {
            Optional<Isolated> enclosing = nearestClassAnnotation(testClass.getEnclosingClass());
            Environment env = create(() -> IsolatedSettings.builder(declared.get(), enclosing, classChain(testClass),
                    testClass.getSimpleName(), context), context);
            context.getStore(NAMESPACE).put(CLASS_ENVIRONMENT, env);
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Method method = context.getRequiredTestMethod();
        Class<?> testClass = context.getRequiredTestClass();
        Optional<Isolated> onMethod = AnnotationSupport.findAnnotation(method, Isolated.class);
        Optional<Isolated> onClass = nearestClassAnnotation(testClass);
        Isolated effective;
        Optional<Isolated> enclosing;
        if (onMethod.isPresent()) {
            effective = onMethod.get();
            enclosing = onClass;
        } else if (onClass.isPresent() && onClass.get().lifecycle() == Isolated.Lifecycle.PER_METHOD) {
            effective = onClass.get();
            enclosing = nearestClassAnnotation(declaringClassOf(testClass).getEnclosingClass());
        } else {
            return; // not isolated, or a per-class environment made in beforeAll
        }
        List<AnnotatedElement> mountSources = new ArrayList<>(classChain(testClass));
        mountSources.add(method);
        Environment env = create(() -> IsolatedSettings.builder(effective, enclosing, mountSources, method.getName(),
                context), context);
        context.getStore(NAMESPACE).put(METHOD_ENVIRONMENT, env);
    }

    private static Environment create(Supplier<IsolatedEnvironmentBuilder> settings, ExtensionContext context) {
        IsolatedEnvironmentBuilder builder = settings.get();
        try {
            return (Environment) builder.start();
        } catch (EnvironmentSetupException e) {
            boolean mustWork = context.getConfigurationParameter(Isolated.FAIL_IF_UNSUPPORTED_PROPERTY)
                    .map(Boolean::parseBoolean).orElse(false);
            if (e.hostCannot() && !mustWork) {
                throw new TestAbortedException("This host cannot create the isolated environment (set "
                        + Isolated.FAIL_IF_UNSUPPORTED_PROPERTY + "=true to fail instead): " + e.getMessage(), e);
            }
            throw e;
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Store store = context.getStore(NAMESPACE);
        List<RuntimeException> failures = new ArrayList<>();
        closeQuietly(store.remove(METHOD_ENVIRONMENT, Environment.class), failures);
        for (Environment env : parameterEnvironments(store, false)) {
            closeQuietly(env, failures);
        }
        store.remove(PARAMETER_ENVIRONMENTS);
        rethrowFirst(failures);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        List<RuntimeException> failures = new ArrayList<>();
        closeQuietly(context.getStore(NAMESPACE).remove(CLASS_ENVIRONMENT, Environment.class), failures);
        rethrowFirst(failures);
    }

    private static void closeQuietly(Environment env, List<RuntimeException> failures) {
        if (env == null) {
            return;
        }
        try {
            env.close();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }

    private static void rethrowFirst(List<RuntimeException> failures) {
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == IsolatedEnvironment.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext context) {
        Parameter parameter = parameterContext.getParameter();
        Optional<Isolated> own = parameterContext.findAnnotation(Isolated.class);
        if (own.isPresent() && context.getTestMethod().isPresent()) {
            Optional<Isolated> onMethod = AnnotationSupport.findAnnotation(context.getRequiredTestMethod(), Isolated.class);
            Optional<Isolated> enclosing = onMethod.isPresent() ? onMethod
                    : nearestClassAnnotation(context.getRequiredTestClass());
            Environment env = create(() -> IsolatedSettings.builder(own.get(), enclosing, List.of(),
                    context.getRequiredTestMethod().getName() + "-" + parameter.getName(), context), context);
            parameterEnvironments(context.getStore(NAMESPACE), true).add(env);
            return env;
        }
        Store store = context.getStore(NAMESPACE);
        Environment env = store.get(METHOD_ENVIRONMENT, Environment.class);
        if (env == null) {
            env = store.get(CLASS_ENVIRONMENT, Environment.class);
        }
        if (env == null) {
            throw new ParameterResolutionException("No isolated environment for parameter " + parameter + " of "
                    + parameterContext.getDeclaringExecutable() + ": environments are made per test method unless "
                    + "@Isolated(lifecycle = PER_CLASS). Annotate the test method or its class with @Isolated, and "
                    + "take IsolatedEnvironment in @Test or @BeforeEach/@AfterEach methods, not in constructors or "
                    + "@BeforeAll methods.");
        }
        return env;
    }

    @SuppressWarnings("unchecked")
    private static List<Environment> parameterEnvironments(Store store, boolean create) {
        List<Environment> list = store.get(PARAMETER_ENVIRONMENTS, List.class);
        if (list == null) {
            if (!create) {
                return List.of();
            }
            list = Collections.synchronizedList(new ArrayList<>());
            store.put(PARAMETER_ENVIRONMENTS, list);
        }
        return list;
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        Store store = context.getStore(NAMESPACE);
        List<Environment> envs = new ArrayList<>();
        Optional.ofNullable(store.get(METHOD_ENVIRONMENT, Environment.class)).ifPresent(envs::add);
        Optional.ofNullable(store.get(CLASS_ENVIRONMENT, Environment.class)).ifPresent(envs::add);
        envs.addAll(parameterEnvironments(store, false));
        boolean keep = context.getConfigurationParameter(KEEP_ON_FAILURE_PROPERTY).map(Boolean::parseBoolean)
                .orElse(false);
        int n = 0;
        for (Environment env : envs) {
            String report = env.diagnostics();
            if (keep) {
                report += keepWritableLayer(env, context, n++);
            }
            throwable.addSuppressed(new EnvironmentReport(report));
        }
        throw throwable;
    }

    private static String keepWritableLayer(Environment env, ExtensionContext context, int index) {
        Path base = Paths.get(context.getConfigurationParameter(KEEP_DIR_PROPERTY).orElse(
                Files.isDirectory(Paths.get("target")) ? "target/isolated-failures" : System.getProperty("java.io.tmpdir")
                        + "/isolated-failures"));
        String name = context.getRequiredTestClass().getSimpleName() + "." + context.getRequiredTestMethod().getName()
                + "-" + System.currentTimeMillis() + (index == 0 ? "" : "-" + index);
        Path target = base.resolve(name).toAbsolutePath();
        try {
            String leftOut = env.copyWritableLayer(target);
            return "Writable layer kept at " + target + " (deleted files appear as <name>.deleted, what was not "
                    + "copied as <name>.skipped saying why)" + (leftOut.isEmpty() ? "" : "; " + leftOut) + "\n";
        } catch (IOException | RuntimeException e) {
            return "Could not keep the writable layer at " + target + ": " + e + "\n";
        }
    }

    /** The nearest {@code @Isolated} on {@code c} or its enclosing classes. */
    static Optional<Isolated> nearestClassAnnotation(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            Optional<Isolated> found = AnnotationSupport.findAnnotation(k, Isolated.class);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    private static Class<?> declaringClassOf(Class<?> c) {
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            if (AnnotationSupport.findAnnotation(k, Isolated.class).isPresent()) {
                return k;
            }
        }
        return c;
    }

    /** The test class and its enclosing classes, outermost first. */
    private static List<AnnotatedElement> classChain(Class<?> c) {
        List<AnnotatedElement> chain = new ArrayList<>();
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            chain.add(0, k);
        }
        return chain;
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
