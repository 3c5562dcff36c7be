package dev.isolated;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;

/**
 * What {@code @Isolated(env, workingDirectory, user)} annotations say together about every command of an
 * environment: {@code env} merges by name (an inner annotation's variable replaces an outer one's of the same
 * name, the others are kept), {@code workingDirectory} and {@code user} are the innermost annotation's that gives
 * them.
 *
 * @param env the variables, by name
 * @param workingDirectory the working directory, empty for none
 * @param user the user, empty for none
 */
record CommandDefaults(Map<String, String> env, String workingDirectory, String user) {

    /**
     * @param innermostFirst the annotations that apply, the most specific first
     * @return what they say together
     * @throws ExtensionConfigurationException when an {@code env} entry is not {@code NAME=value}
     */
    static CommandDefaults merge(List<Isolated> innermostFirst) {
        Map<String, String> env = new LinkedHashMap<>();
        String workingDirectory = "";
        String user = "";
        for (int i = innermostFirst.size() - 1; i >= 0; i--) { // outermost first: inner ones replace
            Isolated a = innermostFirst.get(i);
            for (String entry : a.env()) {
                int equals = entry.indexOf('=');
                if (equals <= 0) {
                    throw new ExtensionConfigurationException("@Isolated(env = \"" + entry + "\"): write each "
                            + "variable as \"NAME=value\", e.g. env = {\"LANG=C.UTF-8\", \"PGDATA=/data\"}");
                }
                env.remove(entry.substring(0, equals)); // so that the order is the innermost's
                env.put(entry.substring(0, equals), entry.substring(equals + 1));
            }
            workingDirectory = a.workingDirectory().isEmpty() ? workingDirectory : a.workingDirectory();
            user = a.user().isEmpty() ? user : a.user();
        }
        return new CommandDefaults(env, workingDirectory, user);
    }

    /**
     * @param builder gets the variables, working directory and user
     * @throws ExtensionConfigurationException naming the attribute when the working directory or user is invalid
     */
    void applyTo(IsolatedEnvironmentBuilder builder) {
        for (Map.Entry<String, String> variable :
                env.entrySet()) { // not forEach(builder::env): a class spun at its first use, on the first test's path
            builder.env(variable.getKey(), variable.getValue());
        }
        try {
            if (!workingDirectory.isEmpty()) {
                builder.workingDirectory(workingDirectory);
            }
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException(
                    "@Isolated(workingDirectory = \"" + workingDirectory + "\"): " + e.getMessage(), e);
        }
        try {
            builder.user(user);
        } catch (IllegalArgumentException e) {
            throw new ExtensionConfigurationException("@Isolated(user = \"" + user + "\"): " + e.getMessage(), e);
        }
    }
}
