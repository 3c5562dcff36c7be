package dev.isolated.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("registry credentials: keys, DOCKER_AUTH_CONFIG, config.json and credential helpers")
class CredentialsTests {

    @TempDir
    Path dir;

    private static String auth(String userAndPassword) {
        return Base64.getEncoder().encodeToString(userAndPassword.getBytes(StandardCharsets.UTF_8));
    }

    private PullSettings settings(Map<String, String> keys, Map<String, String> environment) {
        return PullSettings.from(key -> Optional.ofNullable(keys.get(key)), environment::get);
    }

    @Test
    @DisplayName("the configuration keys win over DOCKER_AUTH_CONFIG, which wins over config.json")
    void precedence() throws Exception {
        Files.writeString(
                dir.resolve("config.json"), "{\"auths\":{\"reg.example\":{\"auth\":\"" + auth("file:f") + "\"}}}");
        String variable = "{\"auths\":{\"https://reg.example/v2/\":{\"auth\":\"" + auth("variable:v") + "\"}}}";
        Map<String, String> environment = Map.of("DOCKER_CONFIG", dir.toString(), "DOCKER_AUTH_CONFIG", variable);

        Credentials keys = Credentials.lookup(
                "reg.example",
                settings(Map.of("isolated.registry.username", "key", "isolated.registry.password", "k"), environment));
        assertThat(keys.username() + ":" + keys.secret()).isEqualTo("key:k");
        assertThat(keys.source()).isEqualTo("isolated.registry.username (user 'key')");

        Credentials fromVariable = Credentials.lookup("reg.example", settings(Map.of(), environment));
        assertThat(fromVariable.username() + ":" + fromVariable.secret()).isEqualTo("variable:v");
        assertThat(fromVariable.source())
                .isEqualTo("auths entry 'https://reg.example/v2/' in DOCKER_AUTH_CONFIG (user 'variable')");

        Credentials fromFile =
                Credentials.lookup("reg.example", settings(Map.of(), Map.of("DOCKER_CONFIG", dir.toString())));
        assertThat(fromFile.username() + ":" + fromFile.secret()).isEqualTo("file:f");

        Credentials environmentKeys = Credentials.lookup(
                "other.example",
                settings(
                        Map.of(),
                        Map.of(
                                "ISOLATED_REGISTRY_USERNAME",
                                "ci",
                                "ISOLATED_REGISTRY_PASSWORD",
                                "c",
                                "DOCKER_CONFIG",
                                dir.toString())));
        assertThat(environmentKeys.source()).isEqualTo("ISOLATED_REGISTRY_USERNAME (user 'ci')");

        Path noFile = dir.resolve("no-config");
        Credentials elsewhere = Credentials.lookup(
                "other.example",
                settings(Map.of(), Map.of("DOCKER_CONFIG", noFile.toString(), "DOCKER_AUTH_CONFIG", variable)));
        assertThat(elsewhere.isAnonymous()).isTrue();
        assertThat(elsewhere.source())
                .as("a DOCKER_AUTH_CONFIG without the registry is not reported missing")
                .isEqualTo("anonymous (no " + noFile.resolve("config.json")
                        + ", DOCKER_AUTH_CONFIG has none for other.example, no ISOLATED_REGISTRY_USERNAME)");

        Credentials none =
                Credentials.lookup("other.example", settings(Map.of(), Map.of("DOCKER_CONFIG", dir.toString())));
        assertThat(none.isAnonymous()).isTrue();
        assertThat(none.source())
                .isEqualTo("anonymous (" + dir.resolve("config.json") + " has no credentials for other.example)");
    }

    @Test
    @DisplayName("Docker Hub's config.json key https://index.docker.io/v1/ is docker.io's")
    void dockerHubKey() throws Exception {
        Files.writeString(
                dir.resolve("config.json"),
                "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"" + auth("hub:h") + "\"}}}");
        Credentials hub = Credentials.lookup("docker.io", settings(Map.of(), Map.of("DOCKER_CONFIG", dir.toString())));
        assertThat(hub.username()).isEqualTo("hub");
    }

    @Test
    @DisplayName("credHelpers and credsStore run docker-credential-<name> get; 'credentials not found' means none; "
            + "the user <token> gives an identity token")
    void helpers() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path helper = bin.resolve("docker-credential-isolatedtest");
        Files.writeString(
                helper,
                "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread -r server\ncase \"$server\" in\n"
                        + "  helped.example) echo '{\"ServerURL\":\"helped.example\",\"Username\":\"helper-user\",\"Secret\":\"hs\"}' ;;\n"
                        + "  tokened.example) echo '{\"ServerURL\":\"tokened.example\",\"Username\":\"<token>\",\"Secret\":\"rt-1\"}' ;;\n"
                        + "  https://index.docker.io/v1/) echo '{\"ServerURL\":\"x\",\"Username\":\"hub-user\",\"Secret\":\"hub\"}' ;;\n"
                        + "  *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n");
        Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path config = Files.createDirectories(dir.resolve("docker"));
        Files.writeString(
                config.resolve("config.json"),
                "{\"credsStore\":\"isolatedtest\",\"auths\":{\"fallback.example\":" + "{\"auth\":\""
                        + auth("fallback:fb") + "\"}}}");

        assertThat(lookupInJvm("helped.example", bin, config))
                .containsExactly(
                        "docker-credential-isolatedtest (credsStore in " + config.resolve("config.json")
                                + ", user 'helper-user')",
                        "helper-user:hs");
        assertThat(lookupInJvm("tokened.example", bin, config))
                .as("an identity token, for an OAuth2 refresh_token grant")
                .containsExactly(
                        "docker-credential-isolatedtest (credsStore in " + config.resolve("config.json")
                                + ", identity token)",
                        "<token>:rt-1");
        assertThat(lookupInJvm("docker.io", bin, config)).last().isEqualTo("hub-user:hub");
        assertThat(lookupInJvm("fallback.example", bin, config)).last().isEqualTo("fallback:fb");
        assertThat(lookupInJvm("nothing.example", bin, config)).last().isEqualTo("null:null");
    }

    @Test
    @DisplayName("a credential helper that does not answer fails the lookup after the helper timeout (30 s), "
            + "naming it, and is killed with what it started")
    void helperThatHangs() throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path pidFile = dir.resolve("sleep.pid");
        Path helper = bin.resolve("docker-credential-hangs");
        // The helper's child keeps its stdout open: the answer never ends, as a keychain prompt nobody answers.
        Files.writeString(helper, "#!/bin/sh\nsh -c 'echo $$ > " + pidFile + "; exec sleep 3600'\n");
        Files.setPosixFilePermissions(helper, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path config = Files.createDirectories(dir.resolve("docker"));
        Files.writeString(config.resolve("config.json"), "{\"credsStore\":\"hangs\"}");

        ProcessBuilder builder = credentialsJvm("hung.example", bin, config, "2");
        Path output = dir.resolve("output");
        Process process = builder.redirectOutput(output.toFile()).start();
        try {
            assertThat(process.waitFor(60, TimeUnit.SECONDS))
                    .as("the lookup returned (it waited for the helper's answer forever)")
                    .isTrue();
        } finally {
            process.destroyForcibly();
        }
        assertThat(Files.readString(output))
                .contains("The credential helper docker-credential-hangs (credsStore in "
                        + config.resolve("config.json") + ") did not answer within 2 s");
        long sleep = Long.parseLong(Files.readString(pidFile).strip());
        Awaitility.await("the helper's child is killed")
                .atMost(Duration.ofSeconds(10))
                .until(() -> ProcessHandle.of(sleep).map(p -> !p.isAlive()).orElse(true));
    }

    /** Runs CredentialsMain in a JVM whose PATH starts with {@code bin}. */
    private static List<String> lookupInJvm(String host, Path bin, Path dockerConfig) throws Exception {
        Process process = credentialsJvm(host, bin, dockerConfig).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output.lines().filter(line -> !line.contains("WARNING")).toList();
    }

    /** A JVM for CredentialsMain (its arguments: the host, then the helper timeout in seconds, if any). */
    private static ProcessBuilder credentialsJvm(String host, Path bin, Path dockerConfig, String... more) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                CredentialsMain.class.getName(),
                host));
        command.addAll(List.of(more));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        builder.environment().put("DOCKER_CONFIG", dockerConfig.toString());
        builder.environment().remove("DOCKER_AUTH_CONFIG");
        builder.environment().remove("ISOLATED_REGISTRY_USERNAME");
        return builder;
    }
}
