package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.HelperPaths.HELPER;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code isolated-helper probe}: every step of what the host allows, as root, as nobody and under
 * a simulated restriction.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@DisplayName("isolated-helper")
class HelperProbeTest extends AbstractHelperCliTest {

    @Nested
    @DisplayName("probe")
    class Probe {

        private final List<String> mustPass = List.of("userns", "uid-map", "mount-ns", "tmpfs-userns", "proc", "overlay",
                "overlay-userxattr", "pivot-root", "net", "uts", "ipc", "cgroup-ns", "time-ns");

        @Test
        @DisplayName("as root: every namespace step passes here, the cgroup controllers are found, sysctls are reported")
        void asRoot() throws Exception {
            Map<String, Map<String, Object>> steps = probe(List.of(HELPER.toString(), "probe", "--json"));

            assertThat(steps.keySet()).containsAll(mustPass).contains("setgroups", "cgroup-memory", "cgroup-pids", "cgroup-cpu",
                    "sysctl user.max_user_namespaces", "sysctl kernel.apparmor_restrict_unprivileged_userns",
                    "sysctl kernel.unprivileged_userns_clone");
            mustPass.forEach(step -> assertThat(steps.get(step)).as(step).containsEntry("ok", true));
            assertThat(steps.get("setgroups")).containsEntry("ok", true);
            assertThat(steps.get("cgroup-memory")).containsEntry("ok", true);
            assertThat((String) steps.get("cgroup-memory").get("detail")).startsWith("v");
            assertThat(steps.get("sysctl kernel.apparmor_restrict_unprivileged_userns")).containsEntry("detail", "absent");
        }

        @Test
        @DisplayName("as uid 65534: the rootless steps pass; setgroups and the v1 cgroups are reported as not usable")
        void asNobody() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);

            Map<String, Map<String, Object>> steps = probe(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    helper.toString(), "probe", "--json"));

            mustPass.forEach(step -> assertThat(steps.get(step)).as(step).containsEntry("ok", true));
            assertThat(steps.get("setgroups")).containsEntry("ok", false).containsEntry("errno", "EPERM");
            assertThat(steps.get("cgroup-memory")).containsEntry("ok", false);
            assertThat((String) steps.get("cgroup-memory").get("hint")).contains("Delegate");
        }

        @Test
        @DisplayName("with user.max_user_namespaces=0: the userns step fails with ENOSPC and names the sysctl")
        void simulatedRestriction() throws Exception {
            Map<String, Map<String, Object>> steps = probe(List.of("unshare", "--user", "--map-root-user", "sh", "-c",
                    "echo 0 > /proc/sys/user/max_user_namespaces && exec " + HELPER + " probe --json"));

            assertThat(steps.get("userns")).containsEntry("ok", false).containsEntry("errno", "ENOSPC");
            assertThat((String) steps.get("userns").get("hint")).contains("user.max_user_namespaces");
            assertThat(steps.get("sysctl user.max_user_namespaces")).containsEntry("ok", false).containsEntry("detail", "0");
        }

        @Test
        @DisplayName("without --json: one `step ok|fail ...` line per step")
        void textOutput() throws Exception {
            Result result = helper("probe");

            assertThat(result.code()).isZero();
            assertThat(result.stdout().lines()).contains("userns ok", "mount-ns ok").allMatch(line -> line.matches("^[^ ].* (ok|fail)( .*)?$"));
        }

        private Map<String, Map<String, Object>> probe(List<String> command) throws Exception {
            Result result = exec(command);
            assertThat(result.code()).as(result.stderr()).isZero();
            Map<String, Map<String, Object>> steps = new LinkedHashMap<>();
            for (String line : result.stdout().lines().toList()) {
                Map<String, Object> step = parseFlatJson(line);
                assertThat(step).containsKeys("step", "ok", "errno", "detail", "hint");
                steps.put((String) step.get("step"), step);
            }
            return steps;
        }
    }

    // ---- plumbing ----

    /** One flat JSON object of strings and booleans, as `probe --json` prints. */
    private static Map<String, Object> parseFlatJson(String line) {
        Map<String, Object> fields = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\"([^\"]+)\":(true|false|\"((?:[^\"\\\\]|\\\\.)*)\")")
                .matcher(line);
        while (m.find()) {
            fields.put(m.group(1), m.group(3) != null ? m.group(3).replaceAll("\\\\(.)", "$1") : Boolean.valueOf(m.group(2)));
        }
        return fields;
    }
}
