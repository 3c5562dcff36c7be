package dev.isolated.samples;

import static dev.isolated.assertj.IsolatedAssertions.assertThat;
import static java.lang.annotation.ElementType.METHOD;
import static java.lang.annotation.ElementType.TYPE;
import static java.lang.annotation.RetentionPolicy.RUNTIME;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.Isolated;
import dev.isolated.IsolatedEnvironment;
import java.lang.annotation.Retention;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A suite's setup in one place, the ways JUnit offers: an annotation of the suite's own that carries
 * {@code @Isolated}, a test interface whose {@code default} tests every implementation runs, and a class whose
 * shared environment its constructor takes.
 */
class SharedSetupTests {

    /** The suite's own annotation: busybox, with STAGE=test for every command. */
    @Retention(RUNTIME)
    @Target({TYPE, METHOD})
    @Isolated(rootfs = "busybox.tar", env = "STAGE=test")
    @interface BusyboxTest {}

    /** A contract: every class that implements it runs its test in an environment of its own. */
    @BusyboxTest
    interface RunsInBusybox {
        @Test
        default void commandsSeeTheSuitesVariables(IsolatedEnvironment env) {
            assertThat(env.exec("sh", "-c", "echo $STAGE")).stdout().isEqualTo("test\n");
        }
    }

    @Nested
    class AnImplementation implements RunsInBusybox {
        @Test
        void itsOwnTestsToo(IsolatedEnvironment env) {
            assertThat(env).hostname().isEqualTo("itsownteststoo");
            assertThat(env.exec("sh", "-c", "echo $STAGE")).stdout().isEqualTo("test\n");
        }
    }

    /** One environment for the class, handed to its constructor, as JUnit's PER_CLASS instance lifecycle suggests. */
    @Nested
    @Isolated(rootfs = "busybox.tar", lifecycle = Isolated.Lifecycle.PER_CLASS)
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    class OneEnvironmentForTheClass {
        private final IsolatedEnvironment shared;

        OneEnvironmentForTheClass(IsolatedEnvironment env) {
            shared = env;
            env.writeString("/tmp/made-by", "the constructor");
        }

        @Test
        void testsGetTheSameEnvironment(IsolatedEnvironment env) {
            assertThat(env).isSameAs(shared);
            assertThat(env.readString("/tmp/made-by")).isEqualTo("the constructor");
        }
    }
}
