package dev.isolated.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.AwaitTimeoutException;
import dev.isolated.EnvironmentCleanupException;
import dev.isolated.EnvironmentSetupException;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedException;
import dev.isolated.ServiceNotReadyException;
import dev.isolated.image.ImageException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("results and failures are made by Isolated only")
class UnforgeableResultsTests {

    /**
     * The base types: IsolatedException claims no particular failure, ImageException (isolated-image) only that an
     * image cannot be used; user code may throw or extend them.
     */
    private static final Set<Class<?>> BASES = Set.of(IsolatedException.class, ImageException.class);

    @Test
    @DisplayName(
            "no exception type of the public API but IsolatedException and ImageException, and not ExecResult, has a public or protected constructor")
    void noPublicConstructors() {
        List<Class<?>> fenced = PublicApi.types().stream()
                .filter(t -> t == ExecResult.class || Throwable.class.isAssignableFrom(t) && !BASES.contains(t))
                .toList();
        assertThat(fenced)
                .contains(
                        ExecResult.class,
                        EnvironmentSetupException.class,
                        EnvironmentCleanupException.class,
                        ServiceNotReadyException.class,
                        AwaitTimeoutException.class);

        List<String> forgeable = fenced.stream()
                .flatMap(t -> Stream.of(t.getDeclaredConstructors()))
                .filter(c -> Modifier.isPublic(c.getModifiers()) || Modifier.isProtected(c.getModifiers()))
                .map(Constructor::toGenericString)
                .toList();
        assertThat(forgeable).isEmpty();
    }
}
