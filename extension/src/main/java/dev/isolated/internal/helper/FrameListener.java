package dev.isolated.internal.helper;

import dev.isolated.IsolatedException;

/** Receives the helper's frames about one id (an environment, a process or a request). */
public interface FrameListener {

    /**
     * Called on the helper's reader thread for each frame with this listener's id; must not block.
     *
     * @param frame the frame
     */
    void onFrame(Frame frame);

    /**
     * Called once when the helper went away before this listener was removed.
     *
     * @param reason why, with the tail of the helper's stderr
     */
    void onHelperGone(IsolatedException reason);
}
