package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.isolated.internal.helper.HelperBinary;
import dev.isolated.internal.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apiguardian.api.API;

/**
 * What this host lets Isolated do, found by trying each step (user namespace, uid map, mounts, /proc,
 * overlay, pivot_root, each namespace, cgroup controllers) in a throwaway process, never by reading the
 * kernel version. Computed once per JVM. The same report is printed by {@code isolated-helper probe}.
 *
 * <p>{@code subids} maps a child with {@code newuidmap}/{@code newgidmap} and the caller's {@code /etc/subuid}
 * and {@code /etc/subgid} ranges, as {@link UserMapping#SUBIDS} does for a non-root caller (as root it is ok
 * without a range: as root every mapping maps the environment's own range); {@code newuidmap} and {@code newgidmap} say
 * where those programs are. {@code userns-capabilities} fails when user namespaces are created but get no
 * capabilities inside (Ubuntu 24.04's AppArmor restriction, or a container's AppArmor profile). {@code container}
 * names where the probe runs (a Docker, Podman or Kubernetes container, a user namespace, an AppArmor profile);
 * {@code seccomp} fails where a seccomp filter refuses new namespaces (Docker's default profile), and
 * {@code proc-unmasked} where a container masked {@code /proc}, {@code root-capabilities} where root lacks
 * {@code CAP_SYS_ADMIN} (a container's root: the helper then does not start); their hints give the setting for {@code docker run},
 * a GitLab runner and a Kubernetes pod. A setup failure in a user namespace quotes the failed step that explains
 * it ({@code seccomp} for {@code clone}, {@code proc-unmasked} for {@code mount-proc}, {@code root-capabilities} for
 * {@code mount-rootfs}, else
 * {@code userns-capabilities}).
 *
 * <pre>{@code
 * HostSupport host = HostSupport.probe();
 * assumeTrue(host.step("cgroup-memory").ok(), host.step("cgroup-memory").toString());
 * }</pre>
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class HostSupport {
    private static HostSupport probed;

    private final List<Step> steps;

    private HostSupport(List<Step> steps) {
        this.steps = List.copyOf(steps);
    }

    /**
     * One probed step.
     *
     * @param name the step, e.g. {@code container}, {@code seccomp}, {@code proc-unmasked}, {@code userns},
     *     {@code proc}, {@code overlay}, {@code subids}, {@code userns-capabilities}, {@code cgroup-memory}, or a
     *     sysctl read as a fact, e.g. {@code sysctl user.max_user_namespaces}
     * @param ok whether it worked
     * @param errno the error name when it did not, e.g. {@code EPERM}; empty for a fact (a sysctl's value, a
     *     masked {@code /proc})
     * @param detail what was found (for sysctls, the value)
     * @param hint what to change when it did not work
     *
     * @since 0.1
     */
    @API(status = EXPERIMENTAL, since = "0.1")
    public record Step(String name, boolean ok, String errno, String detail, String hint) {
        @Override
        public String toString() {
            return name + ": " + (ok ? "ok" : errno.isEmpty() ? "FAILS" : "FAILS " + errno)
                    + (detail.isEmpty() ? "" : " (" + detail + ")") + (hint.isEmpty() ? "" : "; " + hint);
        }
    }

    /**
     * {@return the report for this host, probed on the first call}
     * @throws IsolatedException when the helper cannot run at all, does not finish within 60 s, exits with a code
     *     other than 0 or reports no step
     */
    public static synchronized HostSupport probe() {
        if (probed == null) {
            probed = run();
        }
        return probed;
    }

    private static HostSupport run() {
        return run(List.of(HelperBinary.locate().toString(), "probe", "--json"), PROBE_TIMEOUT);
    }

    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(60);

    /** Runs {@code command} as the probe: its JSON lines are the steps; it must exit 0 within {@code timeout}. */
    static HostSupport run(List<String> command, Duration timeout) {
        Process p;
        try {
            p = new ProcessBuilder(command).start();
        } catch (IOException e) {
            throw new IsolatedException("Cannot run isolated-helper probe: " + e, e);
        }
        CompletableFuture<String> out = drained(p.getInputStream(), "stdout");
        CompletableFuture<String> err = drained(p.getErrorStream(), "stderr");
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IsolatedException("isolated-helper probe did not finish within " + text(timeout));
            }
            String output = out.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            String stderr = err.get(timeout.toMillis(), TimeUnit.MILLISECONDS).strip();
            String said = stderr.isEmpty() ? "" : ": " + stderr;
            if (p.exitValue() != 0) {
                throw new IsolatedException("isolated-helper probe exited with code " + p.exitValue() + said);
            }
            List<Step> steps = new ArrayList<>();
            for (String line : output.lines().filter(l -> l.startsWith("{")).toList()) {
                JsonObject o = JsonObject.parse(line, "isolated-helper probe output");
                steps.add(new Step(
                        o.string("step"), o.bool("ok"), o.string("errno"), o.string("detail"), o.string("hint")));
            }
            if (steps.isEmpty()) {
                throw new IsolatedException("isolated-helper probe (" + command.get(0) + ") reported no step" + said
                        + "; check isolated.helper.path, which must name the isolated-helper");
            }
            return new HostSupport(steps);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IsolatedException("Interrupted while probing the host", e);
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            throw new IsolatedException("Cannot read what isolated-helper probe printed: " + e, e);
        }
    }

    /** A stream read to its end on a thread of its own, so that the probe's timeout holds while it prints nothing. */
    private static CompletableFuture<String> drained(InputStream stream, String name) {
        CompletableFuture<String> text = new CompletableFuture<>();
        Thread reader = new Thread(
                () -> {
                    try (stream) {
                        text.complete(new String(stream.readAllBytes(), StandardCharsets.UTF_8));
                    } catch (IOException e) {
                        text.completeExceptionally(e);
                    }
                },
                "isolated-probe-" + name);
        reader.setDaemon(true);
        reader.start();
        return text;
    }

    private static String text(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /** {@return every step, in the order they were tried} */
    public List<Step> steps() {
        return steps;
    }

    /**
     * Looks up one step of the report by its name.
     *
     * @param name a step's name
     * @return that step
     * @throws IllegalArgumentException listing the step names when there is no such step
     */
    public Step step(String name) {
        return find(name)
                .orElseThrow(() -> new IllegalArgumentException("No probe step '" + name + "'; the steps are "
                        + steps.stream().map(Step::name).toList()));
    }

    /** {@return whether every step worked} */
    public boolean allOk() {
        return steps.stream().allMatch(Step::ok);
    }

    private Optional<Step> find(String name) {
        return steps.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /** @return one line per step, failures with their errno and hint */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Isolated host support:\n");
        steps.forEach(s -> sb.append("  ").append(s).append('\n'));
        return sb.toString();
    }
}
