package dev.isolated;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The AppArmor profile that the README shows for GitHub's ubuntu-24.04 runners is the one the project ships,
 * {@code native/apparmor/isolated-helper}, and it allows what the restriction takes away ({@code userns}) for
 * the paths the README names. (No test loads it: this machine's kernel runs without AppArmor.)
 */
@DisplayName("the helper's AppArmor profile")
class AppArmorProfileReadmeTests {
    private static final Path PROJECT = Path.of("").toAbsolutePath().getParent();

    @Test
    @DisplayName("the README shows native/apparmor/isolated-helper as it is, in a text block")
    void readmeShowsTheShippedProfile() throws IOException {
        String profile = Files.readString(PROJECT.resolve("native/apparmor/isolated-helper"));
        String readme = Files.readString(PROJECT.resolve("README.md"));

        assertThat(readme).contains("```text\n" + profile + "```\n");
    }

    @Test
    @DisplayName("it grants userns, unconfined otherwise, to the default extraction path and the fixed install path")
    void grantsUsernsForTheHelpersPaths() throws IOException {
        String profile = Files.readString(PROJECT.resolve("native/apparmor/isolated-helper"));

        assertThat(profile)
                .contains(
                        "abi <abi/4.0>,",
                        "\n  userns,\n",
                        "flags=(unconfined)",
                        "profile isolated-helper /{home/*/.cache/isolated/helper/*,root/.cache/isolated/helper/*,"
                                + "usr/local/libexec/isolated}/isolated-helper ");
    }
}
