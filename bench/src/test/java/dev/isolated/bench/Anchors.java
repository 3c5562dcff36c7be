package dev.isolated.bench;

/**
 * Figures quoted from {@code performance-anchors.md} for what cannot be measured on this machine
 * (Testcontainers needs a Docker engine). Always labelled as not measured here.
 */
final class Anchors {
    static final String TC_EXEC = "Testcontainers: execInContainer on a running container [anchor]";
    static final String TC_ONE_SHOT = "Testcontainers: start + 1 exec + stop (805+150+220) [anchor]";
    static final String TC_FRESH = "Testcontainers: per test, start + 2 execs + stop [anchor]";
    static final String SOURCE = "performance-anchors.md: 2-vCPU Debian 12 VM, kernel 6.18, OpenJDK 17, Docker 20.10, "
            + "Testcontainers 1.21.4, busybox image, network none, Ryuk off";

    private Anchors() {}
}
