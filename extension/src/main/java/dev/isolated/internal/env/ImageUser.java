package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;

/**
 * The numeric user and group an image's {@code User} ({@code name}, {@code uid}, {@code name:group},
 * {@code uid:gid}...) stands for, looked up in the environment's own {@code /etc/passwd} and
 * {@code /etc/group} as Docker and runc do: a name must be there; a numeric uid need not be (its group is
 * then 0); the group defaults to the user's primary group.
 *
 * @param uid the user id inside the environment
 * @param gid the group id inside the environment
 */
record ImageUser(int uid, int gid) {

    /**
     * @param user the image config's {@code User}, not empty
     * @param readFile reads a file of the environment, empty when it does not exist
     * @return the ids
     * @throws IsolatedException naming the user and the file when a name cannot be resolved
     */
    static ImageUser resolve(String user, Function<String, Optional<String>> readFile) {
        int colon = user.indexOf(':');
        String name = colon < 0 ? user : user.substring(0, colon);
        Optional<String[]> entry = find(readFile.apply("/etc/passwd"), name, 2);
        OptionalInt numeric = number(name);
        if (entry.isEmpty() && numeric.isEmpty()) {
            throw new IsolatedException("The image's User \"" + user + "\": no user \"" + name + "\" in the environment's "
                    + "/etc/passwd. Add it to the image, or give a numeric uid (User \"1000:1000\")");
        }
        int uid = numeric.isPresent() ? numeric.getAsInt() : Integer.parseInt(entry.get()[2]);
        int gid = entry.map(e -> Integer.parseInt(e[3])).orElse(0);
        if (colon >= 0) {
            gid = group(user, user.substring(colon + 1), readFile);
        }
        return new ImageUser(uid, gid);
    }

    private static int group(String user, String group, Function<String, Optional<String>> readFile) {
        OptionalInt numeric = number(group);
        if (numeric.isPresent()) {
            return numeric.getAsInt();
        }
        return find(readFile.apply("/etc/group"), group, 2).map(e -> Integer.parseInt(e[2])).orElseThrow(() ->
                new IsolatedException("The image's User \"" + user + "\": no group \"" + group + "\" in the environment's "
                        + "/etc/group. Add it to the image, or give a numeric gid"));
    }

    /** The {@code :}-separated line whose first field is KEY (a name) or whose field ID_FIELD is KEY (an id). */
    private static Optional<String[]> find(Optional<String> file, String key, int idField) {
        for (String line : file.orElse("").split("\n")) {
            String[] fields = line.split(":", -1);
            if (fields.length > 3 && (fields[0].equals(key) || fields[idField].equals(key)) && number(fields[2]).isPresent()) {
                return Optional.of(fields);
            }
        }
        return Optional.empty();
    }

    private static OptionalInt number(String text) {
        return !text.isEmpty() && text.chars().allMatch(Character::isDigit) && text.length() < 10
                ? OptionalInt.of(Integer.parseInt(text)) : OptionalInt.empty();
    }
}
