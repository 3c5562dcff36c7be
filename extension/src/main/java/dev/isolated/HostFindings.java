package dev.isolated;

import java.util.Optional;

/**
 * Explains a setup failure that the host caused with what {@link HostSupport#probe()} found by trying, when
 * the failing call alone cannot tell why: a mount refused in a user namespace says EACCES, the probe says
 * that user namespaces here are created without capabilities (AppArmor's restriction) and what to change.
 * The probe runs only on such a failure.
 */
final class HostFindings {
    /** The probe step that sums up a restriction of user namespaces. */
    private static final String RESTRICTED_USERNS = "userns-capabilities";

    private HostFindings() {
    }

    /**
     * @param e the setup failure
     * @param userNamespace whether the environment had a user namespace
     * @return {@code e} with the probe's failed finding as its hint, or {@code e} as it is
     */
    static EnvironmentSetupException explain(EnvironmentSetupException e, boolean userNamespace) {
        if (!e.hostCannot() || !userNamespace) {
            return e;
        }
        return finding().map(e::withProbeFinding).orElse(e);
    }

    private static Optional<HostSupport.Step> finding() {
        try {
            return HostSupport.probe().steps().stream()
                    .filter(s -> s.name().equals(RESTRICTED_USERNS) && !s.ok()).findFirst();
        } catch (IsolatedException probeFailed) {
            return Optional.empty(); // the original failure stands on its own
        }
    }
}
