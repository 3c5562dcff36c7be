package dev.isolated.internal.image;

/**
 * Ends a layer's unpack because another layer of the same image failed ({@link ImageBudget#stop()}); never reported
 * to the user, who gets that other layer's failure.
 */
final class UnpackStoppedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    UnpackStoppedException() {
        super("Stopped: another layer of the image failed", null, false, false);
    }
}
