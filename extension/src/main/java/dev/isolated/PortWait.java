package dev.isolated;

import dev.isolated.internal.env.ListeningPorts;
import java.util.Set;

/** Ready when a TCP port listens in the environment's network namespace. */
final class PortWait extends Wait {
    private final int port;

    PortWait(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("forPort(" + port + "): a TCP port is 1..65535");
        }
        this.port = port;
    }

    @Override
    Probe probe(IsolatedEnvironment env, IsolatedProcess service) {
        return new Probe() {
            private Set<Integer> listening = Set.of();

            @Override
            public boolean ready(long deadline) {
                listening =
                        ListeningPorts.of(env.initHostPid(), env.namespaces().contains(LinuxNamespace.NET));
                return listening.contains(port);
            }

            @Override
            public String state() {
                return PortWait.this + " (listening now: " + listening + ")";
            }
        };
    }

    @Override
    public String toString() {
        return "TCP port " + port + " to listen in the environment";
    }
}
