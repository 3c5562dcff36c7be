package dev.isolated;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.testkit.engine.EventConditions.container;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedSuccessfully;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import dev.isolated.image.ImageException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.assertj.core.api.Condition;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.platform.testkit.engine.Event;

/**
 * Where a user may put {@code @Isolated} and its companions besides a class or method, as the README's "What you
 * write" and Isolated's Javadoc say: on an interface the test class implements (JUnit's test interfaces), inside a
 * composed annotation of the user's own, and that a setup failure stays with its test.
 */
@DisplayName("where the annotations may be")
class AnnotationPlacementTests {

    @Test
    @DisplayName("on a test interface: its default test methods and the class's own get its @Isolated, @Bind and "
            + "@Limits")
    void onATestInterface() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(ImplementsTheInterfaceTestCase.class), 2);
    }

    @Test
    @DisplayName("in a composed annotation on a class, a subclass, a method or a parameter: as if written there")
    void composedAnnotation() {
        EngineRunner.assertAllSucceeded(EngineRunner.run(ComposedOnAClassTestCase.class), 1);
        EngineRunner.assertAllSucceeded(EngineRunner.run(ComposedOnASuperclassTestCase.class), 1);
        EngineRunner.assertAllSucceeded(EngineRunner.run(ComposedOnAMethodTestCase.class), 1);
    }

    @Test
    @DisplayName("two annotations of one class, method, parameter or composed annotation that carry different "
            + "@Isolated settings fail it, naming them; equal ones, and a method's @Isolated on its class's, do not")
    void conflictingComposedAnnotations() {
        String fix = " carry different @Isolated settings, and only one can apply: keep one of them (an @Isolated on a "
                + "test method adds to its class's, for settings of some tests only)";
        EngineRunner.run(TwoOnAClassTestCase.class)
                .containerEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        refused(
                                container(TwoOnAClassTestCase.class),
                                "@BusyboxHost and @HelloImage on class TwoOnAClassTestCase" + fix));
        EngineRunner.run(TwoOnAMethodTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1, refused(test("conflicting"), "@BusyboxWithPom and @HelloImage on method conflicting" + fix))
                .haveExactly(
                        1,
                        refusedParameter(
                                "onAParameter", "@BusyboxHost and @Isolated on parameter env of onAParameter" + fix))
                .haveExactly(
                        1,
                        refused(
                                test("inAComposedAnnotation"),
                                "@BusyboxHost and @HelloImage on annotation @BusyboxOrHello" + fix))
                .haveExactly(1, event(test("equal"), finishedSuccessfully()))
                .haveExactly(1, event(test("ownIsolatedOnTheClass"), finishedSuccessfully()));
    }

    @Test
    @DisplayName("two annotations of one class, method or parameter that carry different @Limits, @WritableLayer, "
            + "@ClockOffsets or @StartImageCommand settings fail it, naming them; equal ones do not")
    void conflictingLimitsLayersClocksServices() {
        String limits = replaced("Limits");
        String layer = replaced("WritableLayer");
        EngineRunner.run(TwoLimitsOnAClassTestCase.class)
                .containerEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        refused(
                                container(TwoLimitsOnAClassTestCase.class),
                                "@FewFiles and @ManyFiles on class TwoLimitsOnAClassTestCase" + limits));
        EngineRunner.run(TwoLimitsOnAClassOfIsolatedMethodsTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        refused(
                                test("test"),
                                "@FewFiles and @ManyFiles on class TwoLimitsOnAClassOfIsolatedMethodsTestCase"
                                        + limits));
        EngineRunner.run(TwoLayersOnAClassTestCase.class)
                .containerEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        refused(
                                container(TwoLayersOnAClassTestCase.class),
                                "@SmallLayer and @WritableLayer on class TwoLayersOnAClassTestCase" + layer));
        EngineRunner.run(TwoSettingsOnAMethodTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(1, refused(test("limits"), "@FewFiles and @Limits on method limits" + limits))
                .haveExactly(1, refused(test("layers"), "@SmallLayer and @BigLayer on method layers" + layer))
                .haveExactly(
                        1,
                        refused(
                                test("clocks"),
                                "@LongUptime and @ClockOffsets on method clocks" + replaced("ClockOffsets")))
                .haveExactly(
                        1,
                        refusedParameter(
                                "serviceOnAParameter",
                                "@ServiceOnPort1 and @StartImageCommand on parameter env of serviceOnAParameter"
                                        + replaced("StartImageCommand")))
                .haveExactly(1, event(test("equal"), finishedSuccessfully()));
    }

    /** The end of the message about two different NAME annotations: one on a method replaces its class's. */
    private static String replaced(String name) {
        return " carry different @" + name + " settings, and only one can apply: keep one of them (a @" + name
                + " on a test method replaces its class's, for settings of some tests only)";
    }

    /** WHICH (a class or test) failed with an ExtensionConfigurationException saying MESSAGE. */
    private static Condition<Event> refused(Condition<Event> which, String message) {
        return event(which, finishedWithFailure(instanceOf(ExtensionConfigurationException.class), message(message)));
    }

    /** The test failed resolving a parameter, as JUnit says, for the reason MESSAGE. */
    private static Condition<Event> refusedParameter(String test, String message) {
        return event(
                test(test),
                finishedWithFailure(
                        instanceOf(ParameterResolutionException.class), message(m -> m.endsWith(": " + message))));
    }

    @Test
    @DisplayName("a rootfs that is not found fails only the test that names it, with the README's message")
    void setupFailureStaysWithItsTest() {
        EngineRunner.run(OneMissingRootfsTestCase.class)
                .testEvents()
                .assertThatEvents()
                .haveExactly(
                        1,
                        event(
                                test("missing"),
                                finishedWithFailure(
                                        instanceOf(ImageException.class),
                                        message(m -> m.startsWith("Image 'no-such-image.tar' not found. Tried:")))))
                .haveExactly(1, event(test("found"), finishedSuccessfully()));
    }

    @Isolated(rootfs = "busybox.tar", hostname = "contract")
    @Bind(source = "pom.xml", target = "/contract/pom.xml")
    @Limits(openFiles = 77)
    interface BusyboxContract {
        @Test
        default void fromTheInterface(IsolatedEnvironment env) {
            assertMadeByTheInterface(env);
        }
    }

    static void assertMadeByTheInterface(IsolatedEnvironment env) {
        assertThat(env).hostname().isEqualTo("contract");
        assertThat(env.exec("test", "-f", "/contract/pom.xml")).succeeded();
        assertThat(env.exec("sh", "-c", "ulimit -n")).stdout().isEqualTo("77\n");
    }

    static class ImplementsTheInterfaceTestCase implements BusyboxContract {
        @Test
        void ownMethod(IsolatedEnvironment env) {
            assertMadeByTheInterface(env);
        }
    }

    /** A user's own annotation: an image, a hostname and a bind in one (not even @Inherited). */
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD, ElementType.PARAMETER})
    @Isolated(rootfs = "busybox.tar", hostname = "composed")
    @Bind(source = "pom.xml", target = "/composed/pom.xml")
    @interface BusyboxWithPom {}

    static void assertComposed(IsolatedEnvironment env) {
        assertThat(env).hostname().isEqualTo("composed");
        assertThat(env.exec("test", "-f", "/composed/pom.xml")).succeeded();
    }

    @BusyboxWithPom
    static class ComposedOnAClassTestCase {
        @Test
        void test(IsolatedEnvironment env, @BusyboxWithPom IsolatedEnvironment another) {
            assertComposed(env);
            assertThat(another.initHostPid()).isNotEqualTo(env.initHostPid());
            assertThat(another).hostname().isEqualTo("composed");
        }
    }

    @BusyboxWithPom
    abstract static class ComposedBase {}

    static class ComposedOnASuperclassTestCase extends ComposedBase {
        @Test
        void test(IsolatedEnvironment env) {
            assertComposed(env);
        }
    }

    @Isolated(rootfs = "hello.tar", hostname = "theclass")
    static class ComposedOnAMethodTestCase {
        @Test
        @BusyboxWithPom
        void test(IsolatedEnvironment env) {
            assertComposed(env);
        }
    }

    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD, ElementType.PARAMETER, ElementType.ANNOTATION_TYPE})
    @Isolated(rootfs = "busybox.tar", hostname = "busybox")
    @interface BusyboxHost {}

    /** Another annotation with the settings of {@link BusyboxHost}. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD, ElementType.PARAMETER})
    @Isolated(rootfs = "busybox.tar", hostname = "busybox")
    @interface AlsoBusyboxHost {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD, ElementType.PARAMETER, ElementType.ANNOTATION_TYPE})
    @Isolated(rootfs = "hello.tar")
    @interface HelloImage {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.METHOD)
    @BusyboxHost
    @HelloImage
    @interface BusyboxOrHello {}

    @BusyboxHost
    @HelloImage
    static class TwoOnAClassTestCase {
        @Test
        void test(IsolatedEnvironment env) {}
    }

    @Isolated(rootfs = "busybox.tar", hostname = "theclass")
    static class TwoOnAMethodTestCase {
        @Test
        @BusyboxWithPom
        @HelloImage
        void conflicting(IsolatedEnvironment env) {}

        @Test
        void onAParameter(@BusyboxHost @Isolated(hostname = "other") IsolatedEnvironment env) {}

        @Test
        @BusyboxOrHello
        void inAComposedAnnotation(IsolatedEnvironment env) {}

        @Test
        @BusyboxHost
        @AlsoBusyboxHost
        void equal(IsolatedEnvironment env) {
            assertThat(env).hostname().isEqualTo("busybox");
        }

        @Test
        @BusyboxHost
        void ownIsolatedOnTheClass(IsolatedEnvironment env) {
            assertThat(env).hostname().isEqualTo("busybox");
        }
    }

    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @Limits(openFiles = 64)
    @interface FewFiles {}

    /** Another annotation with the settings of {@link FewFiles}. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @Limits(openFiles = 64)
    @interface AlsoFewFiles {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @Limits(openFiles = 128)
    @interface ManyFiles {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @WritableLayer(tmpfsSize = "16m")
    @interface SmallLayer {}

    /** Another annotation with the settings of {@link SmallLayer}. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @WritableLayer(tmpfsSize = "16m")
    @interface AlsoSmallLayer {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @WritableLayer(tmpfsSize = "32m")
    @interface BigLayer {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.METHOD)
    @ClockOffsets(boottimeSeconds = 30 * 86400)
    @interface LongUptime {}

    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.PARAMETER)
    @StartImageCommand(ports = 1)
    @interface ServiceOnPort1 {}

    @Isolated(rootfs = "busybox.tar")
    @FewFiles
    @ManyFiles
    static class TwoLimitsOnAClassTestCase {
        @Test
        void test(IsolatedEnvironment env) {}
    }

    @FewFiles
    @ManyFiles
    static class TwoLimitsOnAClassOfIsolatedMethodsTestCase {
        @Test
        @Isolated(rootfs = "busybox.tar")
        void test(IsolatedEnvironment env) {}
    }

    @Isolated(rootfs = "busybox.tar")
    @SmallLayer
    @WritableLayer(tmpfsSize = "32m")
    static class TwoLayersOnAClassTestCase {
        @Test
        void test(IsolatedEnvironment env) {}
    }

    @Isolated(rootfs = "busybox.tar")
    static class TwoSettingsOnAMethodTestCase {
        @Test
        @FewFiles
        @Limits(openFiles = 128)
        void limits(IsolatedEnvironment env) {}

        @Test
        @SmallLayer
        @BigLayer
        void layers(IsolatedEnvironment env) {}

        @Test
        @LongUptime
        @ClockOffsets(boottimeSeconds = 60)
        void clocks(IsolatedEnvironment env) {}

        @Test
        void serviceOnAParameter(@Isolated @ServiceOnPort1 @StartImageCommand(ports = 2) IsolatedEnvironment env) {}

        @Test
        @FewFiles
        @AlsoFewFiles
        @SmallLayer
        @AlsoSmallLayer
        void equal(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "ulimit -n")).stdout().isEqualTo("64\n");
            assertThat(env.exec("df", "-k", "/").stdout()).containsPattern("\\s16384\\s");
        }
    }

    @Isolated(rootfs = "busybox.tar")
    static class OneMissingRootfsTestCase {
        @Test
        @Isolated(rootfs = "no-such-image.tar")
        void missing(IsolatedEnvironment env) {}

        @Test
        void found(IsolatedEnvironment env) {
            assertThat(env.exec("true")).succeeded();
        }
    }
}
