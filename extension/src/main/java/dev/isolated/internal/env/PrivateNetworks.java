package dev.isolated.internal.env;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The environments of this JVM on each private network, so that their hostnames resolve: each member's
 * {@code /etc/hosts} lists every member (the helper only wires the addresses).
 */
final class PrivateNetworks {
    private static final Logger LOG = Logger.getLogger(PrivateNetworks.class.getName());
    private static final Map<String, List<Environment>> MEMBERS = new LinkedHashMap<>();

    private PrivateNetworks() {}

    static synchronized void join(String network, Environment env) {
        List<Environment> members = MEMBERS.computeIfAbsent(network, n -> new ArrayList<>());
        members.add(env);
        rewriteHosts(members, env);
    }

    /**
     * The leaving member's line goes from the /etc/hosts of every member still open, each keeping its other lines
     * (see {@link Environment#networkMemberLeft}); one that cannot be rewritten keeps it, with a warning.
     */
    static synchronized void leave(String network, Environment env) {
        List<Environment> members = MEMBERS.get(network);
        if (members == null || !members.remove(env)) {
            return;
        }
        if (members.isEmpty()) {
            MEMBERS.remove(network);
            return;
        }
        String departed = hostsLines(List.of(env));
        if (departed.isEmpty()) {
            return; // it had no names, so no line
        }
        String lines = hostsLines(members);
        for (Environment m : members) {
            if (m.isClosed()) {
                continue; // leaving too, behind this one
            }
            try {
                m.networkMemberLeft(lines, departed.strip());
            } catch (RuntimeException e) {
                LOG.log(
                        Level.WARNING,
                        e,
                        () -> "The /etc/hosts of " + m + " still names " + env + ", which left its network: "
                                + "its line could not be removed (" + e.getMessage() + ")");
            }
        }
    }

    /** The members' lines of /etc/hosts: each one's address and names (hostname, aliases), if it has names. */
    private static String hostsLines(List<Environment> members) {
        StringBuilder hosts = new StringBuilder();
        for (Environment m : members) {
            List<String> names = m.networkNames();
            if (!names.isEmpty()) {
                hosts.append(m.address())
                        .append('\t')
                        .append(String.join(" ", names))
                        .append('\n');
            }
        }
        return hosts.toString();
    }

    /**
     * Each member's names (hostname, aliases) in every member's {@code /etc/hosts}; a name two members have resolves
     * to the first. The joining member's is written whole, first, and its failure is thrown; each other member's
     * gets the joining member's line at its end (see {@link Environment#networkMemberJoined}), its other lines
     * kept. That file is its own commands' to break (a symlink, a directory, a FIFO): it keeps what it has, and never
     * holds up the others.
     */
    private static void rewriteHosts(List<Environment> members, Environment joining) {
        String hosts = hostsLines(members);
        joining.networkHostsChanged(hosts);
        String joined = hostsLines(List.of(joining)).strip();
        if (joined.isEmpty()) {
            return; // it has no names, so no line
        }
        for (Environment m : members) {
            if (m == joining) {
                continue;
            }
            try {
                m.networkMemberJoined(hosts, joined);
            } catch (RuntimeException e) {
                LOG.log(
                        Level.WARNING,
                        e,
                        () -> "The /etc/hosts of " + m + " keeps what it had: the names of "
                                + "its network's members could not be written there (" + e.getMessage() + ")");
            }
        }
    }
}
