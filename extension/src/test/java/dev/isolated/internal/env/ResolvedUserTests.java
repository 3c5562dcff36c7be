package dev.isolated.internal.env;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.IsolatedException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class ResolvedUserTests {
    private static final Map<String, String> FILES = Map.of(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n# comment\nbroken:x\n"
                    + "badgid:x:77:notanumber::/:/bin/sh\n",
            "/etc/group",
            "root:x:0:\nweb:x:33:\nadm:x:4:web\nstaff:x:50:root, web\nodd:x:x:web\n");
    private static final Function<String, Optional<String>> READ = path -> Optional.ofNullable(FILES.get(path));

    private static ResolvedUser resolve(String user) {
        return ResolvedUser.resolve(user, "Test(\"" + user + "\")", READ);
    }

    @Test
    void nameTakesUidAndPrimaryGroupFromPasswdAndSupplementaryGroupsFromGroup() {
        assertThat(resolve("web")).isEqualTo(new ResolvedUser(33, 33, List.of(4, 50), "web"));
        assertThat(resolve("web").describe()).isEqualTo("33:33 (web, groups 4,50)");
        assertThat(resolve("root").describe()).isEqualTo("0:0 (root, groups 50)");
    }

    @Test
    void groupByNameOrNumberHasNoSupplementaryGroups() {
        assertThat(resolve("web:adm")).isEqualTo(new ResolvedUser(33, 4, List.of(), "web"));
        assertThat(resolve("web:7")).isEqualTo(new ResolvedUser(33, 7, List.of(), "web"));
    }

    @Test
    void numericUidKnownOrNot() {
        assertThat(resolve("33")).isEqualTo(new ResolvedUser(33, 33, List.of(4, 50), "web"));
        assertThat(resolve("1234")).isEqualTo(new ResolvedUser(1234, 0, List.of(), ""));
        assertThat(resolve("1234").describe()).isEqualTo("1234:0");
        assertThat(ResolvedUser.resolve("1234", "x", path -> Optional.empty())).isEqualTo(ResolvedUser.ids(1234, 0));
    }

    @Test
    void unknownNamesAndMalformedLinesAreErrorsNamingTheFile() {
        assertThatThrownBy(() -> resolve("nobody"))
                .isInstanceOf(IsolatedException.class)
                .hasMessage(
                        "Test(\"nobody\"): no user \"nobody\" in the environment's /etc/passwd; add the user to the "
                                + "image, or give numeric ids such as \"1000:1000\"");
        assertThatThrownBy(() -> resolve("web:wheel"))
                .isInstanceOf(IsolatedException.class)
                .hasMessage("Test(\"web:wheel\"): no group \"wheel\" in the environment's /etc/group; add the group to "
                        + "the image, or give a numeric gid such as \"web:1000\"");
        assertThatThrownBy(() -> resolve("broken")).isInstanceOf(IsolatedException.class);
        assertThatThrownBy(() -> resolve("badgid"))
                .isInstanceOf(IsolatedException.class)
                .hasMessageContaining("no user \"badgid\"");
    }

    @Test
    void unreadableFilesAreErrorsNamingWhereTheUserWasGiven() {
        assertThatThrownBy(() -> ResolvedUser.resolve("web", "Test(\"web\")", path -> {
                    throw new UncheckedIOException("Cannot read " + path + ": a FIFO", new java.io.IOException("FIFO"));
                }))
                .isInstanceOf(IsolatedException.class)
                .hasMessage("Test(\"web\"): Cannot read /etc/passwd: a FIFO");
    }

    @Test
    void tooManyGroupsAreRefused() {
        StringBuilder group = new StringBuilder();
        for (int gid = 1000; gid < 1000 + ResolvedUser.MAX_GROUPS + 1; gid++) {
            group.append("g").append(gid).append(":x:").append(gid).append(":web\n");
        }
        assertThatThrownBy(() -> ResolvedUser.resolve(
                        "web",
                        "Test",
                        path -> Optional.ofNullable(
                                Map.of("/etc/passwd", FILES.get("/etc/passwd"), "/etc/group", group.toString())
                                        .get(path))))
                .isInstanceOf(IsolatedException.class)
                .hasMessage("Test: user \"web\" is a member of more than 256 groups in the environment's /etc/group");
    }

    @Test
    void formsThatAreNoUser() {
        for (String bad : List.of("", ":", "a:", ":b", "a:b:c", "a b", "a\nb")) {
            assertThatThrownBy(() -> ResolvedUser.checkForm(bad, "Where"))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Where(\"" + bad + "\"): not a user;");
        }
        assertThat(ResolvedUser.checkForm("postgres:postgres", "Where")).isEqualTo("postgres:postgres");
    }
}
