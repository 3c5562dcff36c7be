package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Set;
import java.util.TreeSet;

/**
 * The TCP ports listening in a process's network namespace, from its {@code /proc/<pid>/net/tcp{,6}}, but for the
 * helper's relays of {@code exposeHostPort} in an environment's own network namespace (on {@code 127.213.0.1}):
 * those are the host's ports, not the environment's.
 */
public final class ListeningPorts {
    private static final String LISTEN = "0A";
    /** 127.213.0.1, where the helper listens for {@code exposeHostPort}, as {@code /proc/net/tcp} prints it. */
    private static final String HOST_ALIAS = "0100D57F:";

    private ListeningPorts() {}

    /**
     * @param hostPid a host pid in the network namespace to look at
     * @param ownNetwork whether that is an environment's own network namespace (with {@code NET}), where the
     *     helper's relays of {@code exposeHostPort} listen
     * @return the TCP ports (IPv4 and IPv6) listening there, sorted
     */
    public static Set<Integer> of(long hostPid, boolean ownNetwork) {
        Set<Integer> ports = new TreeSet<>();
        for (String table : new String[] {"tcp", "tcp6"}) {
            Path file = Paths.get("/proc", Long.toString(hostPid), "net", table);
            try {
                for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                    String[] f = line.trim().split("\\s+");
                    // sl local_address rem_address st ...; local_address is HEXADDR:HEXPORT
                    if (f.length > 3
                            && f[3].equals(LISTEN)
                            && f[1].contains(":")
                            && !(ownNetwork && f[1].startsWith(HOST_ALIAS))) {
                        ports.add(Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16));
                    }
                }
            } catch (NoSuchFileException e) {
                // no IPv6 in this kernel, or the process is gone (then the other table fails too)
            } catch (IOException e) {
                throw new IsolatedException("Cannot read " + file + ": " + e, e);
            }
        }
        return ports;
    }
}
