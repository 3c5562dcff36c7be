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
 * Finds a non-repeatable annotation of ours ({@link Isolated}, {@link Limits}, {@link ClockOffsets},
 * {@link WritableLayer}, {@link StartImageCommand}, {@link OnNetwork}) of a class, method or parameter where JUnit's
 * {@code AnnotationSupport.findAnnotation} does (on the element, directly or through a composed annotation, then on a
 * class's interfaces and superclass), but refuses an element whose own annotations carry two different ones, of which
 * JUnit would silently take the first.
 */
final class SingleAnnotations {
    /**
     * The annotations a class's conflicts are checked for before its tests run ({@link OnNetwork}, which no composed
     * annotation may carry, has none).
     */
    private static final List<Class<? extends Annotation>> CLASS_ANNOTATIONS =
            List.of(Isolated.class, Limits.class, ClockOffsets.class, WritableLayer.class, StartImageCommand.class);

    private SingleAnnotations() {}

    /**
     * @return the {@code type} annotation of {@code element}, if any
     * @throws ExtensionConfigurationException when annotations of one element on the way carry different ones
     */
    static <A extends Annotation> Optional<A> find(AnnotatedElement element, Class<A> type) {
        Optional<A> own = declared(element, type, new HashSet<>());
        if (own.isPresent() || !(element instanceof Class<?> c)) {
            return own;
        }
        for (Class<?> implemented : c.getInterfaces()) {
            Optional<A> found = find(implemented, type);
            if (found.isPresent()) {
                return found;
            }
        }
        Class<?> superclass = c.getSuperclass();
        return superclass == null || superclass == Object.class ? Optional.empty() : find(superclass, type);
    }

    /**
     * Fails, before any of its tests runs, a test class that {@link #find} would refuse for one of the annotations a
     * class may carry.
     *
     * @throws ExtensionConfigurationException naming the first conflict
     */
    static void check(Class<?> testClass) {
        for (Class<? extends Annotation> type : CLASS_ANNOTATIONS) {
            find(testClass, type);
        }
    }

    /** The TYPE annotation that ELEMENT's own annotations carry; OPEN: the annotation types being looked into. */
    private static <A extends Annotation> Optional<A> declared(
            AnnotatedElement element, Class<A> type, Set<Class<?>> open) {
        A found = null;
        boolean differ = false;
        List<String> carriers = new ArrayList<>();
        for (Annotation annotation : element.getDeclaredAnnotations()) {
            Optional<A> carried = type.isInstance(annotation)
                    ? Optional.of(type.cast(annotation))
                    : composed(annotation.annotationType(), type, open);
            if (carried.isPresent()) {
                carriers.add("@" + annotation.annotationType().getSimpleName());
                differ |= found != null && !found.equals(carried.get());
                found = found == null ? carried.get() : found;
            }
        }
        if (differ) {
            throw new ExtensionConfigurationException(String.join(", ", carriers.subList(0, carriers.size() - 1))
                    + " and " + carriers.get(carriers.size() - 1) + " on " + describe(element) + " carry different @"
                    + type.getSimpleName() + " settings, and only one can apply: keep one of them (" + hint(type)
                    + ")");
        }
        return Optional.ofNullable(found);
    }

    private static <A extends Annotation> Optional<A> composed(
            Class<? extends Annotation> annotationType, Class<A> type, Set<Class<?>> open) {
        if (annotationType.getName().startsWith("java.lang.annotation.") || !open.add(annotationType)) {
            return Optional.empty(); // @Retention, @Target...; or an annotation that (meta-)annotates itself
        }
        try {
            return declared(annotationType, type, open);
        } finally {
            open.remove(annotationType);
        }
    }

    /** How a method's annotation of TYPE goes with its class's: the other way to give some tests other settings. */
    private static String hint(Class<? extends Annotation> type) {
        String name = type.getSimpleName();
        return (type == Isolated.class
                        ? "an @" + name + " on a test method adds to its class's"
                        : ("AEIOU".indexOf(name.charAt(0)) >= 0 ? "an @" : "a @") + name
                                + " on a test method replaces its class's")
                + ", for settings of some tests only";
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
