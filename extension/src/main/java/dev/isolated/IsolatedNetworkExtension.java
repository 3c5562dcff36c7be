package dev.isolated;

import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.junit.platform.commons.support.ReflectionSupport;

/**
 * The {@link IsolatedNetwork}s of a test, registered by {@link Isolated}: resolves {@code IsolatedNetwork}
 * parameters (one new network per parameter name and test, closed after it; per class for {@code @BeforeAll}
 * parameters), closes {@code IsolatedNetwork} fields with their owner (instance fields after
 * the test, or after the class with a per-class test instance; static fields after the class, a superclass's after
 * the run), and finds the
 * network an {@link OnNetwork} names. Networks are kept in JUnit's store, which closes them (as
 * {@link AutoCloseable}) when their test or class ends, after the extension closed the environments. Not API.
 */
class IsolatedNetworkExtension implements BeforeAllCallback, BeforeEachCallback, ParameterResolver {
    private static final Namespace NAMESPACE = Namespace.create(IsolatedNetworkExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        Class<?> testClass = context.getRequiredTestClass();
        for (Field field : networkFields(testClass, true)) {
            // a superclass's static field is shared by its subclasses, each a test class of its own: after the run
            closeWith(field.getDeclaringClass() == testClass ? context : context.getRoot(), field, null);
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Object instance = context.getRequiredTestInstance();
        ExtensionContext owner = context.getTestInstanceLifecycle().orElse(TestInstance.Lifecycle.PER_METHOD)
                        == TestInstance.Lifecycle.PER_CLASS
                ? context.getParent().orElse(context)
                : context;
        for (Field field : networkFields(instance.getClass(), false)) {
            closeWith(owner, field, instance);
        }
    }

    /**
     * A class's {@code IsolatedNetwork} fields (its superclasses' first), looked up once per class: every test of a
     * class would otherwise walk its fields (and its superclasses') again.
     */
    private static final ClassValue<List<List<Field>>> NETWORK_FIELDS = new ClassValue<>() {
        @Override
        protected List<List<Field>> computeValue(Class<?> type) {
            return List.of(findNetworkFields(type, false), findNetworkFields(type, true));
        }
    };

    private static List<Field> networkFields(Class<?> type, boolean isStatic) {
        return NETWORK_FIELDS.get(type).get(isStatic ? 1 : 0);
    }

    private static List<Field> findNetworkFields(Class<?> type, boolean isStatic) {
        return List.copyOf(
                ReflectionSupport.findFields(type, new IsNetworkField(isStatic), HierarchyTraversalMode.TOP_DOWN));
    }

    /** Whether a field is a (static, or instance) IsolatedNetwork field; a class, not a lambda (a class spun at its first use, on the first test's path). */
    private static final class IsNetworkField implements java.util.function.Predicate<Field> {
        private final boolean isStatic;

        IsNetworkField(boolean isStatic) {
            this.isStatic = isStatic;
        }

        @Override
        public boolean test(Field f) {
            return f.getType() == IsolatedNetwork.class && Modifier.isStatic(f.getModifiers()) == isStatic;
        }
    }

    /** The network in FIELD (of INSTANCE, null for a static one), if any, is closed with OWNER. */
    private static void closeWith(ExtensionContext owner, Field field, Object instance) {
        IsolatedNetwork network = read(field, instance);
        if (network != null) {
            owner.getStore(NAMESPACE).getOrComputeIfAbsent(List.of("field", network), k -> network);
        }
    }

    private static IsolatedNetwork read(Field field, Object instance) {
        try {
            field.setAccessible(true);
            return (IsolatedNetwork) field.get(instance);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ParameterResolutionException("Cannot read the IsolatedNetwork field " + field + ": " + e, e);
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == IsolatedNetwork.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext context) {
        return parameterNetwork(context, parameterContext.getParameter().getName());
    }

    /**
     * The network of the IsolatedNetwork parameter NAME: one per name and context (test or class). The key names the
     * context: a test's store also sees its class's values, and a test's parameter is never its class's network.
     */
    private static IsolatedNetwork parameterNetwork(ExtensionContext context, String name) {
        return context.getStore(NAMESPACE)
                .getOrComputeIfAbsent(
                        List.of("parameter", name, context.getUniqueId()),
                        k -> IsolatedNetwork.newNetwork(),
                        IsolatedNetwork.class);
    }

    /**
     * Puts the environment of {@code parameter} on the network its {@link OnNetwork} names, if it has one.
     *
     * @return {@code builder}
     */
    static IsolatedEnvironmentBuilder join(
            IsolatedEnvironmentBuilder builder, ParameterContext parameter, ExtensionContext context) {
        Optional<OnNetwork> on = parameter.findAnnotation(OnNetwork.class);
        if (on.isEmpty()) {
            return builder;
        }
        String where = "parameter " + parameter.getParameter().getName() + " of "
                + parameter.getDeclaringExecutable().getName();
        return builder.network(
                network(on.get(), where, parameter.getDeclaringExecutable(), context),
                on.get().aliases());
    }

    /**
     * Puts the environment made for a test method or class on the network the innermost {@link OnNetwork} of
     * {@code elements} names, if one has it.
     *
     * @param elements the method (if any), then the test class and its enclosing classes
     * @return {@code builder}
     */
    static IsolatedEnvironmentBuilder join(
            IsolatedEnvironmentBuilder builder, List<? extends AnnotatedElement> elements, ExtensionContext context) {
        for (AnnotatedElement element : elements) {
            Optional<OnNetwork> on = SingleAnnotations.find(element, OnNetwork.class);
            if (on.isPresent()) {
                String where = element instanceof Method m
                        ? "method " + m.getName()
                        : "class " + ((Class<?>) element).getSimpleName();
                Executable method = context.getTestMethod().orElse(null);
                return builder.network(
                        network(on.get(), where, method, context), on.get().aliases());
            }
        }
        return builder;
    }

    private static IsolatedNetwork network(
            OnNetwork on, String where, Executable executable, ExtensionContext context) {
        String name = on.value();
        String at = "@OnNetwork(\"" + name + "\") on " + where;
        for (Parameter p : executable == null ? new Parameter[0] : executable.getParameters()) {
            if (p.getType() == IsolatedNetwork.class && p.getName().equals(name)) {
                return parameterNetwork(context, name);
            }
        }
        List<Object> instances = new ArrayList<>(
                context.getTestInstances().map(i -> i.getAllInstances()).orElse(List.of()));
        java.util.Collections.reverse(instances); // innermost first
        for (Class<?> c = context.getRequiredTestClass(); c != null; c = c.getEnclosingClass()) {
            List<Field> fields = ReflectionSupport.findFields(
                    c,
                    f -> f.getType() == IsolatedNetwork.class && f.getName().equals(name),
                    HierarchyTraversalMode.BOTTOM_UP);
            if (fields.isEmpty()) {
                continue;
            }
            Field field = fields.get(0);
            boolean isStatic = Modifier.isStatic(field.getModifiers());
            Class<?> owner = c;
            Object instance = isStatic
                    ? null
                    : instances.stream().filter(owner::isInstance).findFirst().orElse(null);
            if (instance == null && !isStatic) {
                throw new ParameterResolutionException(at + ": the field " + field.getName() + " of "
                        + c.getSimpleName() + " belongs to a test instance, and none exists yet here; make it static");
            }
            IsolatedNetwork network = read(field, instance);
            if (network == null) {
                throw new ParameterResolutionException(at + ": the field " + field.getName() + " of "
                        + c.getSimpleName() + " is null; initialize it, e.g. IsolatedNetwork " + field.getName()
                        + " = IsolatedNetwork.newNetwork();");
            }
            return network;
        }
        throw new ParameterResolutionException(at + ": no IsolatedNetwork parameter of "
                + (executable == null ? "it" : executable.getName()) + " nor IsolatedNetwork field of "
                + context.getRequiredTestClass().getSimpleName() + " is named " + name
                + " (parameter names need javac -parameters)");
    }
}
