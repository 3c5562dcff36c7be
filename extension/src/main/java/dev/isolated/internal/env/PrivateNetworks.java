package dev.isolated.internal.env;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The environments of this JVM on each private network, so that their hostnames resolve: each member's
 * {@code /etc/hosts} lists every member (the helper only wires the addresses).
 */
final class PrivateNetworks {
    private static final Map<String, List<Environment>> MEMBERS = new LinkedHashMap<>();

    private PrivateNetworks() {}

    static synchronized void join(String network, Environment env) {
        List<Environment> members = MEMBERS.computeIfAbsent(network, n -> new ArrayList<>());
        members.add(env);
        rewriteHosts(members);
    }

    static synchronized void leave(String network, Environment env) {
        List<Environment> members = MEMBERS.get(network);
        if (members != null && members.remove(env) && members.isEmpty()) {
            MEMBERS.remove(network);
        }
    }

    /** Each member's names (hostname, aliases) in every member's {@code /etc/hosts}; a name two members have resolves to the first. */
    private static void rewriteHosts(List<Environment> members) {
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
        for (Environment m : members) {
            m.networkHostsChanged(hosts.toString());
        }
    }
}
