package dev.isolated.bench;

/** One run of a case, which times itself (so that set-up and clean-up around the timed part are left out). */
@FunctionalInterface
interface TimedRun {

    /**
     * @return the nanoseconds the timed part took
     * @throws Exception when the run failed; a benchmark does not hide failures
     */
    long nanos() throws Exception;

    /**
     * @param task work that is timed as a whole
     * @return a run timing the task from start to end
     */
    static TimedRun whole(Task task) {
        return () -> {
            long start = System.nanoTime();
            task.run();
            return System.nanoTime() - start;
        };
    }

    /** Work timed as a whole. */
    @FunctionalInterface
    interface Task {

        /** @throws Exception when the work failed */
        void run() throws Exception;
    }
}
