package dev.isolated;

import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.KeptLayerDirectory;
import dev.isolated.internal.os.NativeAccess;
import java.io.IOException;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.DynamicTestInvocationContext;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ExtensionContext.Store;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.LifecycleMethodExecutionExceptionHandler;
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
class IsolatedExtension
        implements BeforeAllCallback,
                AfterAllCallback,
                BeforeEachCallback,
                AfterEachCallback,
                ParameterResolver,
                TestExecutionExceptionHandler,
                LifecycleMethodExecutionExceptionHandler,
                InvocationInterceptor {
    private static final Namespace NAMESPACE = Namespace.create(IsolatedExtension.class);
    private static final String METHOD_ENVIRONMENT = "environment";
    private static final String CLASS_ENVIRONMENT = "class-environment";
    private static final String PARAMETER_ENVIRONMENTS = "parameter-environments";
    private static final String SPARE_ENVIRONMENT = "spare-environment";

    @Override
    public void beforeAll(ExtensionContext context) {
        SingleAnnotations.check(context.getRequiredTestClass()); // a conflict fails the class, not each of its tests
        if (perClass(context.getRequiredTestClass())) {
            classEnvironment(context);
        }
    }

    private static boolean perClass(Class<?> testClass) {
        Optional<Isolated> declared = SingleAnnotations.find(testClass, Isolated.class);
        return declared.isPresent() && declared.get().lifecycle() == Isolated.Lifecycle.PER_CLASS;
    }

    /**
     * The PER_CLASS environment of the context's class, made at its first use: in {@link #beforeAll}, or before that
     * for the constructor of a {@code @TestInstance(PER_CLASS)} class, which JUnit calls before any callback.
     */
    private static Environment classEnvironment(ExtensionContext context) {
        Class<?> testClass = context.getRequiredTestClass();
        Store store = context.getStore(NAMESPACE);
        Environment made = store.get(testClass, Environment.class); // keyed by class: get() also reads outer classes'
        if (made != null) {
            return made;
        }
        IsolatedSettings.Merged merged = IsolatedSettings.merge(classAnnotations(testClass));
        Environment env = create(
                merged,
                () -> IsolatedNetworkExtension.join(
                        IsolatedSettings.builder(merged, classChain(testClass), testClass.getSimpleName(), context),
                        innermostFirst(testClass, null),
                        context),
                context,
                null);
        store.put(testClass, env);
        store.put(CLASS_ENVIRONMENT, env);
        return env;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        awaitBackgroundCloses(context);
        Method method = context.getRequiredTestMethod();
        Class<?> testClass = context.getRequiredTestClass();
        Optional<Isolated> onMethod = SingleAnnotations.find(method, Isolated.class);
        Optional<Isolated> onClass = nearestClassAnnotation(testClass);
        // Plain code, not lambdas (each is a class spun at its first use): this is every test's path, the first one's
        // too.
        if (onMethod.isPresent()) {
            rejectLifecycle(onMethod.get(), "method " + method.getName());
        }
        if (onMethod.isEmpty() && (onClass.isEmpty() || onClass.get().lifecycle() == Isolated.Lifecycle.PER_CLASS)) {
            if (onClass.isPresent()) {
                rejectUnusedEnvironmentAnnotations(method, testClass);
            }
            return; // not isolated, or a per-class environment made in beforeAll
        }
        List<Isolated> annotations = new ArrayList<>();
        if (onMethod.isPresent()) {
            annotations.add(onMethod.get());
        }
        annotations.addAll(classAnnotations(testClass));
        IsolatedSettings.Merged merged = IsolatedSettings.merge(annotations);
        List<AnnotatedElement> mountSources = new ArrayList<>(classChain(testClass));
        mountSources.add(method);
        Environment env = create(
                merged, new MethodSettings(merged, mountSources, testClass, method, context), context, spares(context));
        context.getStore(NAMESPACE).put(METHOD_ENVIRONMENT, env);
    }

    /** The builder of a test method's environment (a class, not a lambda: it is on the first test's path). */
    private static final class MethodSettings implements Supplier<IsolatedEnvironmentBuilder> {
        private final IsolatedSettings.Merged merged;
        private final List<AnnotatedElement> mountSources;
        private final Class<?> testClass;
        private final Method method;
        private final ExtensionContext context;

        MethodSettings(
                IsolatedSettings.Merged merged,
                List<AnnotatedElement> mountSources,
                Class<?> testClass,
                Method method,
                ExtensionContext context) {
            this.merged = merged;
            this.mountSources = mountSources;
            this.testClass = testClass;
            this.method = method;
            this.context = context;
        }

        @Override
        public IsolatedEnvironmentBuilder get() {
            return IsolatedNetworkExtension.join(
                    IsolatedSettings.builder(merged, mountSources, method.getName(), context),
                    innermostFirst(testClass, method),
                    context);
        }
    }

    private static void rejectLifecycle(Isolated isolated, String where) {
        if (isolated.lifecycle() != Isolated.Lifecycle.PER_METHOD) {
            throw new ExtensionConfigurationException("@Isolated(lifecycle = " + isolated.lifecycle() + ") on " + where
                    + ": lifecycle is read from classes only; put it on the class");
        }
    }

    /**
     * A test of a PER_CLASS environment runs in it as it is: mounts, limits and clock offsets declared on the
     * method (or on a class between it and the class that declares the environment) cannot apply; say so.
     */
    private static void rejectUnusedEnvironmentAnnotations(Method method, Class<?> testClass) {
        List<AnnotatedElement> elements = new ArrayList<>(List.of(method));
        Class<?> declaring = testClass;
        while (SingleAnnotations.find(declaring, Isolated.class).isEmpty()) {
            elements.add(declaring);
            declaring = declaring.getEnclosingClass();
        }
        for (AnnotatedElement element : elements) {
            for (Class<? extends java.lang.annotation.Annotation> type : List.of(
                    Bind.class,
                    Tmpfs.class,
                    Limits.class,
                    WritableLayer.class,
                    ClockOffsets.class,
                    StartImageCommand.class,
                    OnNetwork.class)) {
                boolean present = type == Bind.class || type == Tmpfs.class
                        ? !AnnotationSupport.findRepeatableAnnotations(element, type)
                                .isEmpty()
                        : AnnotationSupport.isAnnotated(element, type);
                if (present) {
                    throw new ExtensionConfigurationException("@" + type.getSimpleName() + " on " + describe(element)
                            + " cannot apply: its tests run in the PER_CLASS environment of "
                            + declaring.getSimpleName()
                            + ", made before them. Put it on " + declaring.getSimpleName() + ", or give the method an "
                            + "environment of its own with @Isolated.");
                }
            }
        }
    }

    private static String describe(AnnotatedElement element) {
        return element instanceof Method m ? "method " + m.getName() : "class " + ((Class<?>) element).getSimpleName();
    }

    /**
     * The spare environment of the test's class (see {@link SpareEnvironment}), kept in the class's store, which
     * JUnit closes when the class ends; {@code null} when {@value IsolatedConfiguration#SPARE_ENVIRONMENTS} is
     * {@code false}.
     */
    private static SpareEnvironment spares(ExtensionContext context) {
        Optional<String> wanted = context.getConfigurationParameter(IsolatedConfiguration.SPARE_ENVIRONMENTS);
        ExtensionContext classContext = classContext(context);
        if ((wanted.isPresent() && !Boolean.parseBoolean(wanted.get())) || classContext == null) {
            return null;
        }
        return classContext
                .getStore(NAMESPACE)
                .getOrComputeIfAbsent(SPARE_ENVIRONMENT, new SpareEnvironment.Maker(), SpareEnvironment.class);
    }

    /** Waits until the environments of the class's earlier tests closed in the background are closed. */
    private static void awaitBackgroundCloses(ExtensionContext context) {
        ExtensionContext classContext = classContext(context);
        SpareEnvironment spares = classContext == null
                ? null
                : classContext.getStore(NAMESPACE).get(SPARE_ENVIRONMENT, SpareEnvironment.class);
        if (spares != null) {
            spares.awaitBackgroundCloses();
        }
    }

    /** The context of the test's class, past a {@code @RepeatedTest}'s or template's container. */
    private static ExtensionContext classContext(ExtensionContext context) {
        ExtensionContext classContext = context;
        while (classContext != null && classContext.getTestMethod().isPresent()) {
            classContext = classContext.getParent().orElse(null);
        }
        return classContext;
    }

    private static Environment create(
            IsolatedSettings.Merged merged,
            Supplier<IsolatedEnvironmentBuilder> settings,
            ExtensionContext context,
            SpareEnvironment spares) {
        NativeAccess.warnOnceIfMissing(); // once per JVM, before the JDK's own warning (when JNA first loads)
        IsolatedEnvironmentBuilder builder = settings.get();
        try {
            return (Environment) builder.start(spares);
        } catch (EnvironmentSetupException e) {
            if (!e.hostCannot()) {
                throw e;
            }
            boolean skip = merged.skipIfUnsupported()
                    || context.getConfigurationParameter(IsolatedConfiguration.SKIP_IF_UNSUPPORTED)
                            .map(Boolean::parseBoolean)
                            .orElse(false);
            if (skip) {
                throw new TestAbortedException(
                        "This host cannot create the isolated environment (skipped, as " + "skipIfUnsupported asks): "
                                + e.getMessage(),
                        e);
            }
            throw e.withMessage(
                    "This host cannot create the isolated environment: ",
                    "\n(To skip such tests "
                            + "instead of failing them, set " + IsolatedConfiguration.SKIP_IF_UNSUPPORTED
                            + "=true or write "
                            + "@Isolated(skipIfUnsupported = true).)");
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Store store = context.getStore(NAMESPACE);
        List<RuntimeException> failures = new ArrayList<>();
        Environment env = store.remove(METHOD_ENVIRONMENT, Environment.class);
        ExtensionContext classContext = classContext(context);
        SpareEnvironment spares = env == null || classContext == null
                ? null
                : classContext.getStore(NAMESPACE).get(SPARE_ENVIRONMENT, SpareEnvironment.class);
        if (spares == null || !spares.closeInBackground(env, context.getDisplayName())) {
            closeQuietly(env, failures);
        }
        for (Environment parameterEnv : parameterEnvironments(store, false)) {
            closeQuietly(parameterEnv, failures);
        }
        store.remove(PARAMETER_ENVIRONMENTS);
        rethrowFirst(failures);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        List<RuntimeException> failures = new ArrayList<>();
        context.getStore(NAMESPACE).remove(context.getRequiredTestClass());
        closeQuietly(context.getStore(NAMESPACE).remove(CLASS_ENVIRONMENT, Environment.class), failures);
        SpareEnvironment spare = context.getStore(NAMESPACE).remove(SPARE_ENVIRONMENT, SpareEnvironment.class);
        if (spare != null) {
            try {
                spare.close();
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
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
        Optional<Isolated> own = parameterContext.getDeclaringExecutable() instanceof Method
                ? SingleAnnotations.find(parameter, Isolated.class)
                : parameterContext.findAnnotation(Isolated.class); // javac's index shift of inner-class constructors
        if (own.isPresent()
                && (context.getTestMethod().isEmpty()
                        || parameterContext.getDeclaringExecutable() instanceof Constructor)) {
            throw new ParameterResolutionException("@Isolated on parameter " + parameter.getName() + " of "
                    + parameterContext.getDeclaringExecutable() + ": an environment of a parameter's own is made for "
                    + "one test, in its @Test, @BeforeEach or @AfterEach method, not in a constructor or a @BeforeAll "
                    + "or @AfterAll method. For one environment per class, put @Isolated(lifecycle = PER_CLASS) on the "
                    + "class and take the parameter without @Isolated; or make one with "
                    + "IsolatedEnvironment.builder().");
        }
        if (own.isPresent()) {
            Method method = context.getRequiredTestMethod();
            rejectLifecycle(own.get(), "parameter " + parameter.getName() + " of " + method.getName());
            List<Isolated> annotations = new ArrayList<>(List.of(own.get()));
            SingleAnnotations.find(method, Isolated.class).ifPresent(annotations::add);
            annotations.addAll(classAnnotations(context.getRequiredTestClass()));
            IsolatedSettings.Merged merged = IsolatedSettings.merge(annotations);
            List<AnnotatedElement> mountSources = new ArrayList<>(classChain(context.getRequiredTestClass()));
            mountSources.add(method);
            mountSources.add(parameter); // only @StartImageCommand may be on a parameter
            Environment env = create(
                    merged,
                    () -> IsolatedNetworkExtension.join(
                            IsolatedSettings.builder(
                                    merged, mountSources, method.getName() + "-" + parameter.getName(), context),
                            parameterContext,
                            context),
                    context,
                    null);
            parameterEnvironments(context.getStore(NAMESPACE), true).add(env);
            return env;
        }
        if (parameterContext.isAnnotated(OnNetwork.class)) {
            throw new ParameterResolutionException(
                    "@OnNetwork on parameter " + parameter.getName() + " needs @Isolated "
                            + "on that parameter too: only an environment made for the parameter can join a network");
        }
        if (parameterContext.isAnnotated(StartImageCommand.class)) {
            throw new ParameterResolutionException("@StartImageCommand on parameter " + parameter.getName()
                    + " needs @Isolated on that parameter too: only an environment made for the parameter starts a "
                    + "service of its own; for the test's environment, put it on the method or class");
        }
        Store store = context.getStore(NAMESPACE);
        Environment env = store.get(METHOD_ENVIRONMENT, Environment.class);
        if (env == null) {
            env = store.get(CLASS_ENVIRONMENT, Environment.class);
        }
        if (env == null
                && context.getTestMethod().isEmpty()
                && context.getTestClass().isPresent()
                && perClass(context.getRequiredTestClass())) {
            env = classEnvironment(context); // a @TestInstance(PER_CLASS) constructor, before beforeAll
        }
        if (env == null) {
            throw new ParameterResolutionException(noEnvironmentMessage(parameterContext, context));
        }
        return env;
    }

    /** JUnit's own annotation of the same simple name, which an IDE's auto-import may pick instead of ours. */
    private static final String JUNIT_ISOLATED = "org.junit.jupiter.api.parallel.Isolated";

    private static String noEnvironmentMessage(ParameterContext parameterContext, ExtensionContext context) {
        String message = "No isolated environment for parameter " + parameterContext.getParameter() + " of "
                + parameterContext.getDeclaringExecutable() + ": environments are made per test method unless "
                + "@Isolated(lifecycle = PER_CLASS). Annotate the test method or its class with @Isolated, and "
                + "take IsolatedEnvironment in @Test or @BeforeEach/@AfterEach methods, not in constructors or "
                + "@BeforeAll methods.";
        List<AnnotatedElement> elements = new ArrayList<>(
                context.getTestClass().map(IsolatedExtension::classChain).orElse(List.of()));
        context.getTestMethod().ifPresent(elements::add);
        boolean junitIsolated = elements.stream()
                .anyMatch(e -> Arrays.stream(e.getAnnotations())
                        .anyMatch(a -> a.annotationType().getName().equals(JUNIT_ISOLATED)));
        if (junitIsolated) {
            message += " The test carries JUnit's own @" + JUNIT_ISOLATED + " (which only stops tests from running in "
                    + "parallel), probably imported by an IDE instead of @" + Isolated.class.getName()
                    + ": change the import.";
        }
        return message;
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
        throw withReports(context, throwable);
    }

    // A failure in a lifecycle method fails the test (or, for @BeforeAll and @AfterAll, the class) as one in the test
    // method does, so it gets the same report.

    @Override
    public void handleBeforeAllMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        throw withReports(context, throwable);
    }

    @Override
    public void handleBeforeEachMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        throw withReports(context, throwable);
    }

    @Override
    public void handleAfterEachMethodExecutionException(ExtensionContext context, Throwable throwable)
            throws Throwable {
        throw withReports(context, throwable);
    }

    @Override
    public void handleAfterAllMethodExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
        throw withReports(context, throwable);
    }

    /**
     * A {@code @TestFactory}'s dynamic tests run in the factory method's environment; JUnit gives them no exception
     * handler, so a failing one gets its report here, from the factory's context.
     */
    @Override
    public void interceptDynamicTest(
            Invocation<Void> invocation, DynamicTestInvocationContext invocationContext, ExtensionContext context)
            throws Throwable {
        try {
            invocation.proceed();
        } catch (Throwable t) {
            ExtensionContext factory = context;
            while (factory.getTestMethod().isEmpty() && factory.getParent().isPresent()) {
                factory = factory.getParent().get();
            }
            throw withReports(factory, t);
        }
    }

    /**
     * Adds an {@link EnvironmentReport} of each environment the failed code could use (the test's own, else the
     * class's, and its parameters') to {@code throwable}, keeping their writable layers as configured; nothing to a
     * {@link TestAbortedException}, which JUnit reports as skipped.
     */
    private static Throwable withReports(ExtensionContext context, Throwable throwable) {
        if (throwable instanceof TestAbortedException) {
            return throwable; // an assumption that did not hold: the test did not fail, nothing to report or keep
        }
        Store store = context.getStore(NAMESPACE);
        List<Environment> envs = new ArrayList<>();
        Environment used = store.get(METHOD_ENVIRONMENT, Environment.class);
        if (used == null) {
            used = store.get(CLASS_ENVIRONMENT, Environment.class);
        }
        if (used != null) {
            envs.add(used);
        }
        envs.addAll(parameterEnvironments(store, false));
        boolean keep = context.getConfigurationParameter(IsolatedConfiguration.KEEP_ON_FAILURE)
                .map(Boolean::parseBoolean)
                .orElse(false);
        int n = 0;
        for (Environment env : envs) {
            String report = env.diagnostics();
            if (keep) {
                report += keepWritableLayer(env, context, n++);
            }
            throwable.addSuppressed(new EnvironmentReport(report));
        }
        return throwable;
    }

    private static String keepWritableLayer(Environment env, ExtensionContext context, int index) {
        KeptLayerDirectory base =
                KeptLayerDirectory.of(context.getConfigurationParameter(IsolatedConfiguration.KEEP_ON_FAILURE_DIR));
        String name = context.getRequiredTestClass().getSimpleName()
                + context.getTestMethod().map(m -> "." + m.getName()).orElse("") + "-" + System.currentTimeMillis()
                + (index == 0 ? "" : "-" + index);
        Path target = base.path().resolve(name);
        try {
            base.prepare();
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
            Optional<Isolated> found = SingleAnnotations.find(k, Isolated.class);
            if (found.isPresent()) {
                return found;
            }
        }
        return Optional.empty();
    }

    /** The {@code @Isolated} annotations of {@code c} and its enclosing classes, innermost first. */
    private static List<Isolated> classAnnotations(Class<?> c) {
        List<Isolated> found = new ArrayList<>();
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            Optional<Isolated> isolated = SingleAnnotations.find(k, Isolated.class);
            if (isolated.isPresent()) { // not ifPresent(found::add): a class spun on the first test's path
                found.add(isolated.get());
            }
        }
        return found;
    }

    /** The method (if not null), then the class and its enclosing classes: where an {@link OnNetwork} applies from. */
    private static List<AnnotatedElement> innermostFirst(Class<?> c, Method method) {
        List<AnnotatedElement> elements = new ArrayList<>(classChain(c));
        Collections.reverse(elements);
        if (method != null) {
            elements.add(0, method);
        }
        return elements;
    }

    /** The test class and its enclosing classes, outermost first. */
    private static List<AnnotatedElement> classChain(Class<?> c) {
        List<AnnotatedElement> chain = new ArrayList<>();
        for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
            chain.add(0, k);
        }
        return chain;
    }
}
