package dev.isolated.bench;

/** The parts of the report, in order; each compares its Isolated lines with its alternatives. */
enum Section {
    ONE_COMMAND("One `/bin/true` in isolation, spawned from this JVM (warm)"),
    FROM_C("The same launchers timed from a C fork/exec loop (no JVM in the way)"),
    HARDENED("What the hardened defaults cost (issue 11): today's defaults against the opt-outs, in one sampler"),
    IMAGE("The image: unpack, cached start, copy-on-write view"),
    SUITE("100 `@Isolated` tests × 2 commands through the JUnit Platform (in-process Launcher)"),
    MEMORY("Memory of idle environments"),
    FROZEN("A fresh environment from a frozen state against the same state set up in every test"),
    PULL("Images by name (issue 12): a Debian image with redis from a registry on 127.0.0.1, Isolated against podman"),
    FIRST_TEST("The first test in a fresh JVM: one trivial test class through the Launcher, JVM start to exit"),
    ROOTLESS("Rootless (uid 65534): one `/bin/true`, exec and one-shot, against `ProcessBuilder` in the same JVM");

    private final String title;

    Section(String title) {
        this.title = title;
    }

    /** @return the heading */
    String title() {
        return title;
    }
}
