package dev.isolated.internal.env;

import java.util.regex.Pattern;

/** A command whose output lines can be watched as they arrive (the commands Isolated starts). */
public interface WatchableOutput {
    /**
     * Starts watching the command's output for lines matching {@code pattern}; the output it printed so far
     * (as kept) is matched at once. Close the watch when done with it.
     *
     * @param pattern searched for in each line ({@link java.util.regex.Matcher#find()})
     * @param times how many matching lines complete {@link LineWatch#met()}
     * @return the watch
     */
    LineWatch watchLines(Pattern pattern, int times);
}
