package dev.isolated;

import java.lang.annotation.Annotation;
import java.lang.reflect.AnnotatedElement;
import java.lang.reflect.Method;
import java.lang.reflect.Parameter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

/**
 * Finds the {@link Isolated} of a class, method or parameter where JUnit's {@code AnnotationSupport.findAnnotation}
 * does (on the element, directly or through a composed annotation, then on a class's interfaces and superclass), but
 * refuses an element whose own annotations carry two different ones, of which JUnit would silently take the first.
 */
final class IsolatedAnnotations {
    private IsolatedAnnotations() {}

    /**
     * @return the {@code @Isolated} of {@code element}, if any
     * @throws ExtensionConfigurationException when annotations of one element on the way carry different ones
     */
    static Optional<Isolated> find(AnnotatedElement element) {
        Optional<Isolated> own = declared(element, new HashSet<>());
        if (own.isPresent() || !(element instanceof Class<?> c)) {
            return own;
        }
        for (Class<?> implemented : c.getInterfaces()) {
            Optional<Isolated> found = find(implemented);
            if (found.isPresent()) {
                return found;
            }
        }
        Class<?> superclass = c.getSuperclass();
        return superclass == null || superclass == Object.class ? Optional.empty() : find(superclass);
    }

    /** The {@code @Isolated} that ELEMENT's own annotations carry; OPEN: the annotation types being looked into. */
    private static Optional<Isolated> declared(AnnotatedElement element, Set<Class<?>> open) {
        Isolated found = null;
        boolean differ = false;
        List<String> carriers = new ArrayList<>();
        for (Annotation annotation : element.getDeclaredAnnotations()) {
            Optional<Isolated> carried = annotation instanceof Isolated isolated
                    ? Optional.of(isolated)
                    : composed(annotation.annotationType(), open);
            if (carried.isPresent()) {
                carriers.add("@" + annotation.annotationType().getSimpleName());
                differ |= found != null && !found.equals(carried.get());
                found = found == null ? carried.get() : found;
            }
        }
        if (differ) {
            throw new ExtensionConfigurationException(String.join(", ", carriers.subList(0, carriers.size() - 1))
                    + " and " + carriers.get(carriers.size() - 1) + " on " + describe(element)
                    + " carry different @Isolated settings, and only one can apply: keep one of them (an @Isolated on "
                    + "a test method adds to its class's, for settings of some tests only)");
        }
        return Optional.ofNullable(found);
    }

    private static Optional<Isolated> composed(Class<? extends Annotation> type, Set<Class<?>> open) {
        if (type.getName().startsWith("java.lang.annotation.") || !open.add(type)) {
            return Optional.empty(); // @Retention, @Target...; or an annotation that (meta-)annotates itself
        }
        try {
            return declared(type, open);
        } finally {
            open.remove(type);
        }
    }

    private static String describe(AnnotatedElement element) {
        if (element instanceof Method m) {
            return "method " + m.getName();
        }
        if (element instanceof Parameter p) {
            return "parameter " + p.getName() + " of "
                    + p.getDeclaringExecutable().getName();
        }
        Class<?> c = (Class<?>) element;
        return (c.isAnnotation() ? "annotation @" : "class ") + c.getSimpleName();
    }
}
