package dev.isolated.internal.helper;

import static dev.isolated.internal.helper.HelperPaths.HELPER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.isolated.SeccompExec;
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
class HelperProbeTests extends AbstractHelperCliTests {

    @Nested
    @DisplayName("probe")
    class Probe {

        private final List<String> mustPass = List.of(
                "userns",
                "uid-map",
                "mount-ns",
                "tmpfs-userns",
                "proc",
                "overlay",
                "overlay-userxattr",
                "pivot-root",
                "net",
                "uts",
                "ipc",
                "cgroup-ns",
                "time-ns",
                "userns-capabilities",
                "newuidmap",
                "newgidmap");

        /** The steps that need a capability inside the user namespace. */
        private final List<String> needCapabilities =
                List.of("mount-ns", "tmpfs-userns", "proc", "overlay", "pivot-root", "net", "uts", "time-ns");

        @Test
        @DisplayName(
                "as root: every namespace step passes here, the cgroup controllers are found, sysctls are reported")
        void asRoot() throws Exception {
            Map<String, Map<String, Object>> steps = probe(List.of(HELPER.toString(), "probe", "--json"));

            assertThat(steps.keySet())
                    .containsAll(mustPass)
                    .contains(
                            "setgroups",
                            "cgroup-memory",
                            "cgroup-pids",
                            "cgroup-cpu",
                            "sysctl user.max_user_namespaces",
                            "sysctl kernel.apparmor_restrict_unprivileged_userns",
                            "sysctl kernel.unprivileged_userns_clone");
            mustPass.forEach(step -> assertThat(steps.get(step)).as(step).containsEntry("ok", true));
            assertThat(steps.get("setgroups")).containsEntry("ok", true);
            assertThat(steps.get("cgroup-memory")).containsEntry("ok", true);
            assertThat((String) steps.get("cgroup-memory").get("detail")).startsWith("v");
            assertThat(steps.get("sysctl kernel.apparmor_restrict_unprivileged_userns"))
                    .containsEntry("detail", "absent");
            assertThat((String) steps.get("newuidmap").get("detail")).endsWith("newuidmap (setuid root)");
        }

        @Test
        @DisplayName("as root without a range: subids is ok (root needs none) and says why")
        void subidsAsRootWithoutRange() throws Exception {
            Map<String, Object> subids = TemporarySubIds.during(
                    TemporarySubIds.without("root", "0"),
                    () -> probe(List.of(HELPER.toString(), "probe", "--json")).get("subids"));

            assertThat(subids).containsEntry("ok", true);
            assertThat((String) subids.get("detail"))
                    .contains("not needed as root", "root has no range in /etc/subuid");
        }

        @Test
        @DisplayName(
                "subids with ranges (nobody by uid, root by name): a child mapped by newuidmap/newgidmap sees uid 1 mapped")
        void subidsWithRanges() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);
            List<Map<String, Map<String, Object>>> probes = TemporarySubIds.during(
                    TemporarySubIds.replacing(
                            List.of("root", "0", "nobody", "65534"), "65534:200000:65536", "root:300000:1000"),
                    () -> List.of(
                            probe(concat(NOBODY, List.of(helper.toString(), "probe", "--json"))),
                            probe(List.of(HELPER.toString(), "probe", "--json"))));
            Map<String, Map<String, Object>> asNobody = probes.get(0);
            Map<String, Map<String, Object>> asRoot = probes.get(1);

            assertThat(asNobody.get("subids"))
                    .as("as nobody")
                    .containsEntry("ok", true)
                    .containsEntry(
                            "detail",
                            "nobody: uids 1..65536 -> 200000.. (/etc/subuid 200000:65536), gids 1..65536 -> 200000.. (/etc/subgid 200000:65536)");
            assertThat(asRoot.get("subids"))
                    .as("as root")
                    .containsEntry("ok", true)
                    .containsEntry(
                            "detail",
                            "root: uids 1..1000 -> 300000.. (/etc/subuid 300000:1000), gids 1..1000 -> 300000.. (/etc/subgid 300000:1000);"
                                    + " as root every user-map maps the env's own range");
        }

        @Test
        @DisplayName("as uid 65534: the rootless steps pass; setgroups and the v1 cgroups are reported as not usable")
        void asNobody() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);

            Map<String, Map<String, Object>> steps =
                    probe(concat(NOBODY, List.of(helper.toString(), "probe", "--json")));

            mustPass.forEach(step -> assertThat(steps.get(step)).as(step).containsEntry("ok", true));
            assertThat(steps.get("uid-map"))
                    .as("the caller's uid, not the child's 0")
                    .containsEntry("detail", "uid 65534 mapped to 0");
            assertThat(steps.get("setgroups")).containsEntry("ok", false).containsEntry("errno", "EPERM");
            assertThat(steps.get("cgroup-memory")).containsEntry("ok", false);
            assertThat((String) steps.get("cgroup-memory").get("hint")).contains("Delegate");
        }

        @Test
        @DisplayName("as uid 65534 without a range: subids fails naming /etc/subuid and the line to add")
        void subidsWithoutRange() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);

            Map<String, Object> subids = TemporarySubIds.during(
                    TemporarySubIds.without("nobody", "65534"),
                    () -> probe(concat(NOBODY, List.of(helper.toString(), "probe", "--json")))
                            .get("subids"));

            assertThat(subids).containsEntry("ok", false).containsEntry("errno", "ENOENT");
            assertThat((String) subids.get("hint"))
                    .contains(
                            "no range for nobody in /etc/subuid",
                            "add `nobody:100000:65536` to /etc/subuid and /etc/subgid")
                    .doesNotContain("root needs none");
        }

        @Test
        @DisplayName(
                "as uid 65534 where user namespaces get no capabilities (AppArmor-like, simulated with seccomp): userns ok, "
                        + "the steps inside fail, userns-capabilities names the sysctl")
        void restrictedUserNamespaces() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);
            List<String> restricted = SeccompExec.restrictedUserNamespace(tmp);

            Map<String, Map<String, Object>> steps =
                    probe(concat(restricted, concat(NOBODY, List.of(helper.toString(), "probe", "--json"))));

            assertThat(steps.get("userns")).containsEntry("ok", true);
            assertThat(steps.get("uid-map")).containsEntry("ok", true);
            needCapabilities.forEach(
                    step -> assertThat(steps.get(step)).as(step).containsEntry("ok", false));
            assertThat(steps.get("mount-ns")).containsEntry("errno", "EACCES");
            assertThat(steps.get("uts")).containsEntry("errno", "EPERM");
            assertThat(steps.get("userns-capabilities"))
                    .containsEntry("ok", false)
                    .containsEntry("errno", "EACCES");
            assertThat((String) steps.get("userns-capabilities").get("hint"))
                    .isEqualTo("user namespaces are created but get no "
                            + "capabilities: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04), or an AppArmor "
                            + "profile with `userns,` for the helper's path (Isolated ships one: native/apparmor/isolated-helper, see "
                            + "the README's GitHub Actions section)");
            assertThat(steps.get("seccomp"))
                    .as("a filter that lets user namespaces be created")
                    .containsEntry("ok", true)
                    .containsEntry("detail", "a seccomp filter is on (Seccomp: 2); it lets user namespaces be created");
            assertThat(steps.get("sysctl kernel.apparmor_restrict_unprivileged_userns"))
                    .as("found by trying, not from the sysctl")
                    .containsEntry("detail", "absent");
        }

        @Test
        @DisplayName(
                "as uid 65534 where /proc is read-only: the user namespace is created, its maps cannot be written (EROFS)")
        void mapsCannotBeWritten() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);
            String asNobody = String.join(" ", NOBODY);

            Map<String, Map<String, Object>> steps = probe(List.of(
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    "mount -o remount,bind,ro /proc && exec " + asNobody + " " + helper + " probe --json"));

            assertThat(steps.get("userns")).containsEntry("ok", true);
            assertThat(steps.get("uid-map")).containsEntry("ok", false).containsEntry("errno", "EROFS");
            assertThat((String) steps.get("uid-map").get("detail")).matches("write /proc/\\d+/(setgroups|uid_map): .*");
            assertThat((String) steps.get("uid-map").get("hint"))
                    .contains("/proc is read-only", "maps of a new user namespace");
            assertThat(steps.get("mount-ns"))
                    .as("every step that needs maps")
                    .containsEntry("ok", false)
                    .containsEntry("errno", "EROFS");
        }

        @Test
        @DisplayName(
                "as uid 65534 where /proc is masked as Docker masks it: proc fails with EPERM and says so; the rest works")
        void maskedProc() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);
            String asNobody = String.join(" ", NOBODY);

            Map<String, Map<String, Object>> steps = probe(List.of(
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    "mount -t tmpfs -o ro masked /proc/acpi && mount --bind /dev/null /proc/timer_list && exec "
                            + asNobody + " " + helper + " probe --json"));

            assertThat(steps.get("proc")).containsEntry("ok", false).containsEntry("errno", "EPERM");
            assertThat(steps.get("proc-unmasked"))
                    .containsEntry("ok", false)
                    .containsEntry("errno", "")
                    .containsEntry("detail", "masked: /proc/acpi /proc/timer_list");
            assertThat(steps.get("proc").get("hint"))
                    .as("the same fix")
                    .isEqualTo(steps.get("proc-unmasked").get("hint"));
            assertThat((String) steps.get("proc").get("hint"))
                    .contains(
                            "the outer /proc is masked",
                            "docker run --security-opt systempaths=unconfined",
                            "security_opt = [\"systempaths=unconfined\"] in [runners.docker] of its config.toml",
                            "Podman: --security-opt unmask=ALL",
                            "securityContext.procMount: Unmasked, which needs hostUsers: false");
            assertThat(steps.get("userns")).containsEntry("ok", true);
            assertThat(steps.get("mount-ns")).containsEntry("ok", true);
        }

        @Test
        @DisplayName(
                "under Docker's default seccomp profile (simulated), as uid 65534 in a GitLab job: seccomp and userns "
                        + "fail with EPERM and name the setting for docker run, a GitLab runner and Kubernetes")
        void dockerDefaultSeccomp() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);
            List<String> docker = SeccompExec.dockerDefault(tmp);

            Map<String, Map<String, Object>> steps = probe(concat(
                    docker,
                    concat(
                            List.of("env", "GITLAB_CI=true"),
                            concat(NOBODY, List.of(helper.toString(), "probe", "--json")))));

            String fix =
                    "a seccomp filter (Seccomp: 2 in /proc/self/status) refuses new namespaces, as Docker's default "
                            + "profile refuses clone and unshare with namespace flags, mount, pivot_root and setns: docker run "
                            + "--security-opt seccomp=unconfined; a GitLab runner in Docker: security_opt = [\"seccomp=unconfined\"] "
                            + "in [runners.docker] of its config.toml; Kubernetes: securityContext.seccompProfile.type: Unconfined";
            assertThat(steps.get("seccomp"))
                    .containsEntry("ok", false)
                    .containsEntry("errno", "EPERM")
                    .containsEntry("detail", "clone CLONE_NEWUSER: Operation not permitted")
                    .containsEntry("hint", fix);
            assertThat(steps.get("userns"))
                    .containsEntry("ok", false)
                    .containsEntry("errno", "EPERM")
                    .containsEntry("hint", fix);
            assertThat((String) steps.get("container").get("detail")).endsWith("; GitLab CI");
            assertThat(steps.get("proc-unmasked")).containsEntry("ok", true);
        }

        @Test
        @DisplayName(
                "as root without CAP_SYS_ADMIN (a container's root): root-capabilities fails and names --cap-add SYS_ADMIN")
        void rootWithoutSysAdmin() throws Exception {
            Map<String, Map<String, Object>> steps =
                    probe(List.of("setpriv", "--bounding-set=-sys_admin", HELPER.toString(), "probe", "--json"));

            assertThat(steps.get("root-capabilities"))
                    .containsEntry("ok", false)
                    .containsEntry("errno", "EPERM");
            assertThat((String) steps.get("root-capabilities").get("detail"))
                    .startsWith("root without CAP_SYS_ADMIN (CapEff: ");
            assertThat((String) steps.get("root-capabilities").get("hint"))
                    .contains(
                            "docker run --cap-add SYS_ADMIN",
                            "cap_add = [\"SYS_ADMIN\"] in [runners.docker]",
                            "securityContext.capabilities.add: [\"SYS_ADMIN\"]",
                            "or run the tests as a user other than root (Kubernetes: runAsUser)");
            assertThat(probe(List.of(HELPER.toString(), "probe", "--json")).get("root-capabilities"))
                    .as("with every capability")
                    .containsEntry("ok", true)
                    .containsEntry("detail", "root with CAP_SYS_ADMIN");
        }

        @Test
        @DisplayName("under Docker's default seccomp profile (simulated), as root: the seccomp step still names it")
        void dockerDefaultSeccompAsRoot() throws Exception {
            Map<String, Map<String, Object>> steps =
                    probe(concat(SeccompExec.dockerDefault(tmp), List.of(HELPER.toString(), "probe", "--json")));

            assertThat(steps.get("seccomp")).containsEntry("ok", false).containsEntry("errno", "EPERM");
            assertThat((String) steps.get("seccomp").get("hint"))
                    .contains("docker run --security-opt seccomp=unconfined");
            assertThat(steps.get("mount-ns")).containsEntry("ok", false).containsEntry("errno", "EPERM");
        }

        @Test
        @DisplayName(
                "in a simulated Kubernetes pod with hostUsers: false and the default procMount (a user namespace of "
                        + "65536 ids, /proc masked): the probe names the pod, its user namespace and procMount: Unmasked")
        void kubernetesPod() throws Exception {
            Path helper = HelperPaths.rootlessCopy(tmp);

            // The container runtime masks /proc, then the pod's root is uid 0 of a user namespace of 65536 ids (unshare
            // maps them with newuidmap/newgidmap, which want root's range in /etc/subuid, /etc/subgid); the masks, made
            // outside that user namespace, are locked in its mount namespace, as in a real pod.
            String pod = "env KUBERNETES_SERVICE_HOST=10.96.0.1 unshare --user --map-users=200000,0,65536 "
                    + "--map-groups=200000,0,65536 --setuid 0 --setgid 0 --mount " + helper + " probe --json";
            Map<String, Map<String, Object>> steps = TemporarySubIds.during(
                    TemporarySubIds.replacing(List.of("root", "0"), "root:200000:65536"),
                    () -> probe(List.of(
                            "unshare",
                            "--mount",
                            "--propagation",
                            "private",
                            "sh",
                            "-c",
                            "mount -t tmpfs -o ro masked /proc/acpi && mount --bind /dev/null /proc/timer_list && exec "
                                    + pod)));

            assertThat((String) steps.get("container").get("detail"))
                    .startsWith("a Kubernetes pod (KUBERNETES_SERVICE_HOST "
                            + "is set), in a user namespace (uid 0 is host uid 200000, 65536 ids); AppArmor: none");
            assertThat(steps.get("proc-unmasked"))
                    .containsEntry("ok", false)
                    .containsEntry("detail", "masked: /proc/acpi /proc/timer_list");
            assertThat(steps.get("proc")).containsEntry("ok", false).containsEntry("errno", "EPERM");
            assertThat((String) steps.get("proc").get("hint"))
                    .contains("securityContext.procMount: Unmasked, which needs " + "hostUsers: false");
            assertThat(steps.get("root-capabilities"))
                    .as("the pod's root, here with every capability in its user namespace")
                    .containsEntry("ok", true)
                    .containsEntry("detail", "root with CAP_SYS_ADMIN in its user namespace");
            assertThat(steps.get("userns")).containsEntry("ok", true);
            assertThat(steps.get("mount-ns")).containsEntry("ok", true);
        }

        @Test
        @DisplayName("with user.max_user_namespaces=0: the userns step fails with ENOSPC and names the sysctl")
        void simulatedRestriction() throws Exception {
            Map<String, Map<String, Object>> steps = probe(List.of(
                    "unshare",
                    "--user",
                    "--map-root-user",
                    "sh",
                    "-c",
                    "echo 0 > /proc/sys/user/max_user_namespaces && exec " + HELPER + " probe --json"));

            assertThat(steps.get("userns")).containsEntry("ok", false).containsEntry("errno", "ENOSPC");
            assertThat((String) steps.get("userns").get("hint")).contains("user.max_user_namespaces");
            assertThat(steps.get("sysctl user.max_user_namespaces"))
                    .containsEntry("ok", false)
                    .containsEntry("detail", "0");
        }

        @Test
        @DisplayName("its steps, in PROTOCOL.md's order")
        void stepsInOrder() throws Exception {
            Map<String, Map<String, Object>> steps = probe(List.of(HELPER.toString(), "probe", "--json"));

            assertThat(steps.keySet())
                    .containsExactly(
                            "sysctl kernel.unprivileged_userns_clone",
                            "sysctl user.max_user_namespaces",
                            "sysctl kernel.apparmor_restrict_unprivileged_userns",
                            "container",
                            "seccomp",
                            "proc-unmasked",
                            "root-capabilities",
                            "userns",
                            "uid-map",
                            "setgroups",
                            "newuidmap",
                            "newgidmap",
                            "subids",
                            "mount-ns",
                            "tmpfs-userns",
                            "proc",
                            "overlay",
                            "overlay-userxattr",
                            "overlay-userns-no-userxattr",
                            "pivot-root",
                            "net",
                            "uts",
                            "ipc",
                            "cgroup-ns",
                            "time-ns",
                            "userns-capabilities",
                            "cgroup-memory",
                            "cgroup-pids",
                            "cgroup-cpu");
        }

        @Test
        @DisplayName("without --json: one `step ok|fail ...` line per step")
        void textOutput() throws Exception {
            Result result = helper("probe");

            assertThat(result.code()).isZero();
            assertThat(result.stdout().lines())
                    .contains("userns ok", "mount-ns ok")
                    .allMatch(line -> line.matches("^[^ ].* (ok|fail)( .*)?$"));
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

    private static final List<String> NOBODY = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups");

    /** One flat JSON object of strings and booleans, as `probe --json` prints. */
    private static Map<String, Object> parseFlatJson(String line) {
        Map<String, Object> fields = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\"([^\"]+)\":(true|false|\"((?:[^\"\\\\]|\\\\.)*)\")")
                .matcher(line);
        while (m.find()) {
            fields.put(
                    m.group(1),
                    m.group(3) != null ? m.group(3).replaceAll("\\\\(.)", "$1") : Boolean.valueOf(m.group(2)));
        }
        return fields;
    }
}
