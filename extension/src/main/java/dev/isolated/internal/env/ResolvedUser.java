package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;

/**
 * Who a command runs as inside its environment: the ids a user ({@code name}, {@code uid}, {@code name:group},
 * {@code uid:gid}...) stands for, looked up in the environment's own {@code /etc/passwd} and {@code /etc/group}
 * (never the host's) as Docker and runc do: a name must be there; a numeric uid need not be (its group is then
 * 0); the group defaults to the user's primary group, and then the groups of {@code /etc/group} that list the
 * user's name are its supplementary groups (none when a group is given).
 *
 * @param uid the user id inside the environment
 * @param gid the group id inside the environment
 * @param groups the supplementary group ids
 * @param name the user's name in {@code /etc/passwd}, empty when it has no entry there
 */
public record ResolvedUser(int uid, int gid, List<Integer> groups, String name) {
    /** The most supplementary groups a user may have (the helper's bound). */
    static final int MAX_GROUPS = 256;

    /** Copies. */
    public ResolvedUser {
        groups = List.copyOf(groups);
    }

    /**
     * @param uid the user id
     * @param gid the group id
     * @return these ids, without supplementary groups or a name
     */
    static ResolvedUser ids(int uid, int gid) {
        return new ResolvedUser(uid, gid, List.of(), "");
    }

    /** @return {@code uid:gid}, then the name and supplementary groups when known, e.g. {@code 999:999 (postgres)} */
    public String describe() {
        String extra = name.isEmpty() ? "" : name;
        if (!groups.isEmpty()) {
            StringBuilder ids = new StringBuilder();
            groups.forEach(g -> ids.append(ids.length() == 0 ? "" : ",").append(g));
            extra += (extra.isEmpty() ? "" : ", ") + "groups " + ids;
        }
        return uid + ":" + gid + (extra.isEmpty() ? "" : " (" + extra + ")");
    }

    /**
     * Checks the form of a user before it is looked up: a name or uid, optionally {@code :} and a group name or
     * gid, without blanks.
     *
     * @param user the user
     * @param what how the message names where it was given, e.g. {@code Command.withUser}
     * @return {@code user}
     * @throws IllegalArgumentException naming it and the forms allowed
     */
    public static String checkForm(String user, String what) {
        int colon = user.indexOf(':');
        boolean ok = !user.isEmpty()
                && colon != 0
                && colon != user.length() - 1
                && user.indexOf(':', colon + 1) < 0
                && user.chars().noneMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c));
        if (!ok) {
            throw new IllegalArgumentException(what + "(\"" + user + "\"): not a user; write a name or uid, optionally "
                    + "with a group name or gid after a colon, as docker run --user takes it: \"postgres\", \"1000\", "
                    + "\"postgres:postgres\", \"1000:1000\"");
        }
        return user;
    }

    /**
     * @param user the user, e.g. {@code postgres}, {@code 1000:1000}, {@code postgres:staff}
     * @param who how messages name where the user was given, e.g. {@code Command.withUser("postgres")}
     * @param readFile reads a file of the environment, empty when it does not exist
     * @return the ids
     * @throws IsolatedException naming {@code who}, the user and the file when a name cannot be resolved or the
     *     file cannot be read
     */
    static ResolvedUser resolve(String user, String who, Function<String, Optional<String>> readFile) {
        int colon = user.indexOf(':');
        String name = colon < 0 ? user : user.substring(0, colon);
        OptionalInt numeric = number(name);
        Optional<String[]> entry = find(read(readFile, "/etc/passwd", who), name, 4);
        if (entry.isEmpty() && numeric.isEmpty()) {
            throw new IsolatedException(who + ": no user \"" + name + "\" in the environment's /etc/passwd; add the "
                    + "user to the image, or give numeric ids such as \"1000:1000\"");
        }
        int uid = numeric.isPresent() ? numeric.getAsInt() : Integer.parseInt(entry.get()[2]);
        String userName = entry.map(e -> e[0]).orElse("");
        if (colon >= 0) {
            return new ResolvedUser(uid, group(user.substring(colon + 1), name, who, readFile), List.of(), userName);
        }
        int gid = entry.map(e -> Integer.parseInt(e[3])).orElse(0);
        return new ResolvedUser(
                uid, gid, userName.isEmpty() ? List.of() : memberships(userName, who, readFile), userName);
    }

    private static int group(String group, String name, String who, Function<String, Optional<String>> readFile) {
        OptionalInt numeric = number(group);
        if (numeric.isPresent()) {
            return numeric.getAsInt();
        }
        return find(read(readFile, "/etc/group", who), group, 3)
                .map(e -> Integer.parseInt(e[2]))
                .orElseThrow(() -> new IsolatedException(
                        who + ": no group \"" + group + "\" in the environment's /etc/group; add the "
                                + "group to the image, or give a numeric gid such as \"" + name + ":1000\""));
    }

    /** The gids of the groups whose member list names the user, as runc adds them. */
    private static List<Integer> memberships(String userName, String who, Function<String, Optional<String>> readFile) {
        List<Integer> gids = new ArrayList<>();
        for (String[] fields : lines(read(readFile, "/etc/group", who))) {
            if (fields.length < 4 || number(fields[2]).isEmpty()) {
                continue;
            }
            int gid = Integer.parseInt(fields[2]);
            for (String member : fields[3].split(",")) {
                if (member.trim().equals(userName) && !gids.contains(gid)) {
                    if (gids.size() == MAX_GROUPS) {
                        throw new IsolatedException(who + ": user \"" + userName + "\" is a member of more than "
                                + MAX_GROUPS + " groups in the environment's /etc/group");
                    }
                    gids.add(gid);
                }
            }
        }
        return gids;
    }

    private static String read(Function<String, Optional<String>> readFile, String path, String who) {
        try {
            return readFile.apply(path).orElse("");
        } catch (UncheckedIOException e) {
            throw new IsolatedException(who + ": " + e.getMessage(), e);
        }
    }

    /**
     * The first {@code :}-separated line whose name (first field) or id (third field) is KEY and that has at
     * least FIELDS fields, its ids numeric (the third, and in {@code /etc/passwd}, FIELDS 4, the fourth).
     */
    private static Optional<String[]> find(String file, String key, int fields) {
        for (String[] line : lines(file)) {
            if (line.length >= fields
                    && (line[0].equals(key) || line[2].equals(key))
                    && number(line[2]).isPresent()
                    && (fields < 4 || number(line[3]).isPresent())) {
                return Optional.of(line);
            }
        }
        return Optional.empty();
    }

    private static Iterable<String[]> lines(String file) {
        return () -> new java.util.Iterator<>() {
            private int start;

            @Override
            public boolean hasNext() {
                return start < file.length();
            }

            @Override
            public String[] next() {
                int end = file.indexOf('\n', start);
                end = end < 0 ? file.length() : end;
                String line = file.substring(start, end);
                start = end + 1;
                return line.split(":", -1);
            }
        };
    }

    private static OptionalInt number(String text) {
        return !text.isEmpty() && text.length() < 10 && text.chars().allMatch(c -> c >= '0' && c <= '9')
                ? OptionalInt.of(Integer.parseInt(text))
                : OptionalInt.empty();
    }
}
