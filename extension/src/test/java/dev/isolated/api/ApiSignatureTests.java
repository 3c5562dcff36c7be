package dev.isolated.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("public signatures name no Awaitility type")
class ApiSignatureTests {

    @Test
    @DisplayName("no public or protected method, constructor or field of the public API names org.awaitility")
    void noAwaitilityTypes() {
        List<String> signatures = new ArrayList<>();
        for (Class<?> type : PublicApi.types()) {
            signatures.add(type.toGenericString() + " extends " + type.getGenericSuperclass() + " implements "
                    + List.of(type.getGenericInterfaces()));
            Stream.of(type.getDeclaredMethods())
                    .filter(m -> visible(m.getModifiers()))
                    .map(ApiSignatureTests::describe)
                    .forEach(signatures::add);
            Stream.of(type.getDeclaredConstructors())
                    .filter(c -> visible(c.getModifiers()))
                    .map(ApiSignatureTests::describe)
                    .forEach(signatures::add);
            Stream.of(type.getDeclaredFields())
                    .filter(f -> visible(f.getModifiers()))
                    .map(Field::toGenericString)
                    .forEach(signatures::add);
        }
        assertThat(signatures)
                .as("the scan reads the await methods")
                .anyMatch(s -> s.contains("awaitOutput(java.util.regex.Pattern)"));

        assertThat(signatures.stream().filter(s -> s.contains("org.awaitility")))
                .isEmpty();
    }

    private static boolean visible(int modifiers) {
        return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
    }

    private static String describe(Executable e) {
        String generic = e instanceof Method m ? m.toGenericString() : ((Constructor<?>) e).toGenericString();
        return generic + " throws " + List.of(e.getGenericExceptionTypes());
    }
}
