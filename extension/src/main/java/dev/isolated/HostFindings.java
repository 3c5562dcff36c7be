package dev.isolated;

import java.util.List;
import java.util.Optional;

/**
 * Explains a setup failure that the host caused with what {@link HostSupport#probe()} found by trying, when
 * the failing call alone cannot tell why: a mount refused in a user namespace says EACCES, the probe says
 * that user namespaces here are created without capabilities (AppArmor's restriction) and what to change; a
 * refused {@code clone} says EPERM, the probe says that a seccomp filter (Docker's default profile) refuses
 * new namespaces; a refused {@code /proc} mount says EPERM, the probe says that a container masked {@code /proc};
 * a refused idmapped image says EPERM, the probe says that root here lacks {@code CAP_SYS_ADMIN}.
 * The probe runs only on such a failure.
 */
final class HostFindings {
    /** The probe step that sums up a restriction of user namespaces. */
    private static final String RESTRICTED_USERNS = "userns-capabilities";
    /** The probe step that names a seccomp filter refusing new namespaces. */
    private static final String SECCOMP = "seccomp";
    /** The probe step that names root without CAP_SYS_ADMIN (a container's root). */
    private static final String ROOT_CAPABILITIES = "root-capabilities";
    /** The probe step that names a masked /proc. */
    private static final String MASKED_PROC = "proc-unmasked";

    private HostFindings() {}

    /**
     * @param e the setup failure of an environment (every one has a user namespace: the helper adds it)
     * @return {@code e} with the probe's failed finding as its hint, or {@code e} as it is
     */
    static EnvironmentSetupException explain(EnvironmentSetupException e) {
        if (!e.hostCannot()) {
            return e;
        }
        return finding(e.stage()).map(e::withProbeFinding).orElse(e);
    }

    /**
     * The failed probe step that explains a failure at STAGE: the one for that stage first, else the userns one;
     * none for stage {@code proc}, whose own hint says what is wrong (a {@code /proc} of another PID namespace,
     * where the probe's steps fail for that reason too and would blame user namespaces).
     */
    private static Optional<HostSupport.Step> finding(String stage) {
        List<String> explaining = switch (stage) {
            case "proc" -> List.of();
            case "clone", "unshare" -> List.of(SECCOMP, RESTRICTED_USERNS);
            case "mount-proc" -> List.of(MASKED_PROC, RESTRICTED_USERNS);
            case "mount-rootfs", "mount-private" -> List.of(ROOT_CAPABILITIES, RESTRICTED_USERNS);
            default -> List.of(RESTRICTED_USERNS);
        };
        if (explaining.isEmpty()) {
            return Optional.empty();
        }
        try {
            List<HostSupport.Step> steps = HostSupport.probe().steps();
            return explaining.stream()
                    .flatMap(name -> steps.stream().filter(s -> s.name().equals(name) && !s.ok()))
                    .findFirst();
        } catch (IsolatedException probeFailed) {
            return Optional.empty(); // the original failure stands on its own
        }
    }
}
