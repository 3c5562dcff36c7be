package dev.isolated.bench;

/**
 * One target of the issue and how this run did.
 *
 * @param goal the target, as the issue states it
 * @param actual what was measured, with the figures it was computed from
 * @param met whether it was met; null when it could not be judged (a figure is missing)
 * @param gap by how much it was missed or met
 */
record Target(String goal, String actual, Boolean met, String gap) {

    /** @return MET, MISSED or N/A */
    String verdict() {
        return met == null ? "N/A" : met ? "MET" : "MISSED";
    }
}
