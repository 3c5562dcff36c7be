package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import org.apiguardian.api.API;

/**
 * One line of an environment's {@code /proc/<pid>/mountinfo}: a mount as the environment sees it.
 *
 * @param mountId the mount's id
 * @param parentId the id of the mount it is mounted on
 * @param root the path inside the mounted filesystem that forms the mount's root
 * @param mountPoint where it is mounted, relative to the environment's {@code /}
 * @param options the per-mount options, e.g. {@code rw,nosuid,nodev}
 * @param fsType the filesystem type, e.g. {@code tmpfs}, {@code proc}, {@code overlay}
 * @param source the mount source, e.g. {@code tmpfs} or a device
 * @param superOptions the per-superblock options
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public record MountInfo(
        int mountId,
        int parentId,
        String root,
        String mountPoint,
        String options,
        String fsType,
        String source,
        String superOptions) {

    /**
     * Parses one line of a mountinfo file (see proc(5)).
     *
     * @param line the line
     * @return the parsed mount
     * @throws IllegalArgumentException when the line is not in mountinfo format
     */
    public static MountInfo parse(String line) {
        String[] fields = line.split(" ");
        int dash = java.util.Arrays.asList(fields).indexOf("-");
        if (fields.length < 10 || dash < 6 || fields.length < dash + 4) {
            throw new IllegalArgumentException("Not a mountinfo line: " + line);
        }
        return new MountInfo(
                Integer.parseInt(fields[0]),
                Integer.parseInt(fields[1]),
                unescape(fields[3]),
                unescape(fields[4]),
                fields[5],
                fields[dash + 1],
                unescape(fields[dash + 2]),
                fields[dash + 3]);
    }

    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
