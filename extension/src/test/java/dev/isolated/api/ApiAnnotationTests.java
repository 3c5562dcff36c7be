package dev.isolated.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.ExecResult;
import dev.isolated.HostSupport;
import dev.isolated.Isolated;
import dev.isolated.assertj.IsolatedAssertions;
import dev.isolated.image.ImageBuilder;
import java.util.EnumSet;
import java.util.List;
import org.apiguardian.api.API;
import org.apiguardian.api.API.Status;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("@API marks the public API and the internal packages")
class ApiAnnotationTests {

    @Test
    @DisplayName("the scan sees the public types of all three public packages, nested ones included")
    void scanFindsThePublicTypes() {
        assertThat(PublicApi.types())
                .contains(
                        Isolated.class,
                        ExecResult.class,
                        Isolated.Lifecycle.class,
                        HostSupport.Step.class,
                        ImageBuilder.class,
                        IsolatedAssertions.class)
                .hasSizeGreaterThan(40);
    }

    @Test
    @DisplayName(
            "every public type of dev.isolated, dev.isolated.image and dev.isolated.assertj is STABLE or EXPERIMENTAL since 0.1")
    void everyPublicTypeHasApi() {
        List<String> unmarked = PublicApi.types().stream()
                .filter(t -> !t.isAnnotationPresent(API.class))
                .map(Class::getName)
                .toList();
        assertThat(unmarked).as("public types without @API").isEmpty();

        for (Class<?> type : PublicApi.types()) {
            API api = type.getAnnotation(API.class);
            assertThat(api.status())
                    .as(type.getName())
                    .isIn(EnumSet.of(Status.STABLE, Status.EXPERIMENTAL, Status.DEPRECATED));
            assertThat(api.since()).as(type.getName()).isEqualTo("0.1");
        }
    }

    @Test
    @DisplayName("a deprecated public type says DEPRECATED and carries @Deprecated, and only such a type")
    void deprecatedMatches() {
        for (Class<?> type : PublicApi.types()) {
            API api = type.getAnnotation(API.class);
            boolean deprecated = api != null && api.status() == Status.DEPRECATED; // a missing @API fails above
            assertThat(type.isAnnotationPresent(Deprecated.class))
                    .as(type.getName())
                    .isEqualTo(deprecated);
        }
    }

    @Test
    @DisplayName("every package under dev.isolated.internal is INTERNAL")
    void internalPackagesAreInternal() {
        List<String> packages = PublicApi.internalPackages();
        assertThat(packages).contains("dev.isolated.internal.env", "dev.isolated.internal.helper");

        for (String pkg : packages) {
            Class<?> info = PublicApi.load(pkg + ".package-info");
            API api = info.getAnnotation(API.class);
            assertThat(api).as(pkg + " has @API").isNotNull();
            assertThat(api.status()).as(pkg).isEqualTo(Status.INTERNAL);
        }
    }
}
