package dev.isolated.image;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.apiguardian.api.API;

/**
 * The run defaults an image's config declares: what an OCI or {@code docker save} image sets with
 * {@code ENV}, {@code WORKDIR}, {@code USER}, {@code ENTRYPOINT}, {@code CMD} and {@code HEALTHCHECK}. A plain
 * rootfs tar or directory has none: {@link #EMPTY}.
 *
 * @param env {@code NAME=value} pairs, in the image's order; empty when none
 * @param workingDir the working directory, or {@code ""} when unset
 * @param user the user ({@code name}, {@code uid}, {@code uid:gid}...), or {@code ""} when unset
 * @param entrypoint the entrypoint; empty when unset
 * @param cmd the default arguments (or command, without an entrypoint); empty when unset
 * @param healthcheck the image's {@code HEALTHCHECK}; {@link Healthcheck#NONE} when unset
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public record ImageConfig(
        List<String> env,
        String workingDir,
        String user,
        List<String> entrypoint,
        List<String> cmd,
        Healthcheck healthcheck) {

    /** No defaults at all, as for a plain rootfs tar or directory. */
    public static final ImageConfig EMPTY = new ImageConfig(List.of(), "", "", List.of(), List.of());

    /**
     * Copies the lists; {@code null} becomes empty (and {@link Healthcheck#NONE}).
     *
     * @param env {@code NAME=value} pairs, in the image's order
     * @param workingDir the working directory, or {@code ""}
     * @param user the user, or {@code ""}
     * @param entrypoint the entrypoint
     * @param cmd the default arguments (or command, without an entrypoint)
     * @param healthcheck the image's {@code HEALTHCHECK}
     */
    public ImageConfig {
        env = env == null ? List.of() : List.copyOf(env);
        workingDir = workingDir == null ? "" : workingDir;
        user = user == null ? "" : user;
        entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        healthcheck = healthcheck == null ? Healthcheck.NONE : healthcheck;
    }

    /**
     * A config without a {@code HEALTHCHECK}.
     *
     * @param env {@code NAME=value} pairs
     * @param workingDir the working directory, or {@code ""}
     * @param user the user, or {@code ""}
     * @param entrypoint the entrypoint
     * @param cmd the default arguments
     */
    public ImageConfig(List<String> env, String workingDir, String user, List<String> entrypoint, List<String> cmd) {
        this(env, workingDir, user, entrypoint, cmd, Healthcheck.NONE);
    }

    /**
     * The command the image runs by default.
     *
     * @return the entrypoint followed by {@code cmd}
     */
    public List<String> command() {
        return entrypoint.isEmpty()
                ? cmd
                : Stream.concat(entrypoint.stream(), cmd.stream()).toList();
    }

    /**
     * An image's {@code HEALTHCHECK}, as Docker stores it in the image config ({@code config.Healthcheck}); the
     * durations there are nanoseconds, and 0 or a missing one means Docker's default, which this record holds
     * instead.
     *
     * @param test {@code ["CMD", program, args...]}, {@code ["CMD-SHELL", "command line"]} (run with
     *     {@code /bin/sh -c}), {@code ["NONE"]} (checks switched off), or empty when the image declares none
     * @param interval the time between two checks (Docker's default 30 s)
     * @param timeout how long one check may run before it counts as failed (default 30 s)
     * @param startPeriod how long after the start failures do not count towards {@code retries} (default 0)
     * @param retries how many failures in a row make the service unhealthy (default 3)
     *
     * @since 0.1
     */
    @API(status = EXPERIMENTAL, since = "0.1")
    public record Healthcheck(
            List<String> test, Duration interval, Duration timeout, Duration startPeriod, int retries) {

        /** Docker's default {@code Interval}: 30 s. */
        public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(30);
        /** Docker's default {@code Timeout}: 30 s. */
        public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
        /** Docker's default {@code Retries}: 3. */
        public static final int DEFAULT_RETRIES = 3;

        /** No {@code HEALTHCHECK}. */
        public static final Healthcheck NONE =
                new Healthcheck(List.of(), DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Duration.ZERO, DEFAULT_RETRIES);

        /**
         * Copies {@code test}; {@code null} or non-positive values become Docker's defaults.
         *
         * @param test the check's command, as Docker stores it, or empty
         * @param interval the time between two checks
         * @param timeout how long one check may run
         * @param startPeriod how long after the start failures do not count
         * @param retries how many failures in a row make the service unhealthy
         */
        public Healthcheck {
            test = test == null ? List.of() : List.copyOf(test);
            interval = positiveOr(interval, DEFAULT_INTERVAL);
            timeout = positiveOr(timeout, DEFAULT_TIMEOUT);
            startPeriod = startPeriod == null || startPeriod.isNegative() ? Duration.ZERO : startPeriod;
            retries = retries <= 0 ? DEFAULT_RETRIES : retries;
        }

        /**
         * @return whether the image declares a check: its {@code test} starts with {@code CMD} or {@code CMD-SHELL}
         *     (also one of a form Docker does not run, such as {@code ["CMD"]} alone, which {@link #command()}
         *     refuses)
         */
        public boolean isDeclared() {
            return !test.isEmpty() && (test.get(0).equals("CMD") || test.get(0).equals("CMD-SHELL"));
        }

        /**
         * The command one check runs, as Docker runs it inside the container.
         *
         * @return the rest of {@code test} for {@code CMD}; {@code /bin/sh -c <command line>} for {@code CMD-SHELL}
         * @throws IllegalStateException when the image declares no check, switches it off ({@code NONE}), or
         *     gives a {@code test} of another form; the message quotes it
         */
        public List<String> command() {
            if (test.isEmpty()) {
                throw new IllegalStateException("The image declares no HEALTHCHECK");
            }
            String kind = test.get(0);
            if (kind.equals("CMD") && test.size() > 1) {
                return test.subList(1, test.size());
            }
            if (kind.equals("CMD-SHELL") && test.size() == 2) {
                return List.of("/bin/sh", "-c", test.get(1));
            }
            if (kind.equals("NONE")) {
                throw new IllegalStateException("The image switches its HEALTHCHECK off (Test " + test + ")");
            }
            throw new IllegalStateException("The image's HEALTHCHECK has a Test of a form Docker does not run: " + test
                    + " (expected [\"CMD\", program, args...] or [\"CMD-SHELL\", \"command line\"])");
        }

        private static Duration positiveOr(Duration value, Duration otherwise) {
            return value == null || value.isZero() || value.isNegative() ? otherwise : Objects.requireNonNull(value);
        }
    }
}
