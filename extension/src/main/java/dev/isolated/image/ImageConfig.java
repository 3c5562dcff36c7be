package dev.isolated.image;

import java.util.List;
import java.util.stream.Stream;

/**
 * The run defaults an image's config declares: what an OCI or {@code docker save} image sets with
 * {@code ENV}, {@code WORKDIR}, {@code USER}, {@code ENTRYPOINT} and {@code CMD}. A plain rootfs tar or
 * directory has none: {@link #EMPTY}.
 *
 * @param env {@code NAME=value} pairs, in the image's order; empty when none
 * @param workingDir the working directory, or {@code ""} when unset
 * @param user the user ({@code name}, {@code uid}, {@code uid:gid}...), or {@code ""} when unset
 * @param entrypoint the entrypoint; empty when unset
 * @param cmd the default arguments (or command, without an entrypoint); empty when unset
 */
public record ImageConfig(List<String> env, String workingDir, String user, List<String> entrypoint, List<String> cmd) {

    /** No defaults at all, as for a plain rootfs tar or directory. */
    public static final ImageConfig EMPTY = new ImageConfig(List.of(), "", "", List.of(), List.of());

    /** Copies the lists; {@code null} becomes empty. */
    public ImageConfig {
        env = env == null ? List.of() : List.copyOf(env);
        workingDir = workingDir == null ? "" : workingDir;
        user = user == null ? "" : user;
        entrypoint = entrypoint == null ? List.of() : List.copyOf(entrypoint);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
    }

    /** The command the image runs by default: the entrypoint followed by {@code cmd}. */
    public List<String> command() {
        return entrypoint.isEmpty() ? cmd : Stream.concat(entrypoint.stream(), cmd.stream()).toList();
    }
}
