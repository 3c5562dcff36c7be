package dev.isolated.internal.env;

import dev.isolated.Command;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedException;
import dev.isolated.IsolatedProcess;
import dev.isolated.internal.api.PublicObjects;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.Frame;
import dev.isolated.internal.helper.FrameListener;
import dev.isolated.internal.helper.FrameType;
import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.HelperErrorException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Lock;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * A command spawned by the helper in an environment: collects its output frames and completes when the
 * helper reports its exit. A command that does not exist or cannot be executed completes at once with
 * exit code 127 or 126 and an explanation on stderr, as a shell would; one whose working directory cannot
 * be entered with 125, as {@code env} and {@code chroot} do when they fail before running the command.
 */
final class RunningProcess implements IsolatedProcess, FrameListener, WatchableOutput {
    private static final Duration SPAWN_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration KILL_GRACE = Duration.ofSeconds(2);
    private static final int STDIN_CHUNK = 256 * 1024;
    private static final long UNTERMINATED_LINE_CHECK = TimeUnit.MILLISECONDS.toNanos(10);

    /** How long a SIGKILLed process group may take to be gone before exec says so. */
    private static final Duration GROUP_GONE = Duration.ofSeconds(5);

    private final HelperConnection helper;
    private final int id;
    private final List<String> command;
    private final Duration awaitTimeout;
    private final BoundedOutput stdout;
    private final BoundedOutput stderr;
    private final OutputLines stdoutLines;
    private final OutputLines stderrLines;
    private final CompletableFuture<Fields> spawned = new CompletableFuture<>();
    private final CompletableFuture<ExecResult> exited = new CompletableFuture<>();
    private final long startNanos = System.nanoTime();
    private volatile boolean timedOut;
    private volatile boolean oomKilled;
    private volatile long hostPid = -1;
    private volatile long nsPid = -1;
    private volatile long spawnedNanos;
    private final StdinStream stdin;
    private final boolean openStdin;
    private final ResolvedUser user;
    private final boolean subids; // userMapping = SUBIDS: an unmapped id is outside the ranges, not a missing mapping
    private final int longestLine;
    private final Object outputLock = new Object();
    private final List<LineWatch> watches = new java.util.ArrayList<>(); // guarded by outputLock
    private boolean outputEnded; // guarded by outputLock: the command exited, its last lines are flushed
    private volatile Throwable consumerFailure; // what the withOutputLines consumer threw: it gets no more lines

    private RunningProcess(
            HelperConnection helper, Command command, ResolvedUser user, Duration awaitTimeout, boolean subids) {
        this.helper = helper;
        this.user = user;
        this.subids = subids;
        this.id = helper.newId();
        this.command = command.argv();
        this.awaitTimeout = awaitTimeout;
        this.stdout = new BoundedOutput(command.maxOutputBytes());
        this.stderr = new BoundedOutput(command.maxOutputBytes());
        this.longestLine = Math.max(64 * 1024, command.maxOutputBytes());
        // Plain code, not lambdas: each is a class spun at its first use, on the first test's path.
        Optional<Consumer<String>> lines = command.outputLines();
        this.stdoutLines = lines.isPresent() ? new OutputLines(lines.get(), longestLine) : null;
        this.stderrLines = lines.isPresent() ? new OutputLines(lines.get(), longestLine) : null;
        this.stdin = new StdinStream(helper, id, STDIN_CHUNK, this);
        this.openStdin = command.hasOpenStdin();
        if (openStdin) {
            exited.whenComplete(stdin); // wakes a write waiting for the command to read
        }
    }

    /**
     * @param user who the command runs as; {@code null}: root, the helper's default
     * @param awaitSpawn whether to return only once the helper said the command started (its pids known, a
     *     failure to start thrown); {@code false} for a command that {@link #waitOrStop} waits for at once, which
     *     then throws that failure: the helper is asked not to report the start ({@code spawned=false}), so the
     *     reader and the caller are woken once per command, at its exit; its pids stay unknown (-1), its timeout
     *     runs from the request (a command with stdin to write is always awaited)
     * @param sending held while the request is sent, not longer: the read lock of the environment's freeze
     * @throws IsolatedException when the thread is interrupted while it waits for {@code sending} (nothing was
     *     sent), its interrupt status kept
     */
    static RunningProcess spawn(
            HelperConnection helper,
            Fields request,
            Command command,
            ResolvedUser user,
            EnvironmentSpec spec,
            boolean awaitSpawn,
            Lock sending) {
        RunningProcess p = new RunningProcess(
                helper,
                command,
                user,
                spec.awaitTimeout(),
                spec.options().userMapping() == dev.isolated.UserMapping.SUBIDS);
        for (String arg : command.argv()) {
            request.add("arg", arg);
        }
        Map<String, String> env = new java.util.LinkedHashMap<>(spec.env());
        env.putAll(command.env());
        for (Map.Entry<String, String> variable : env.entrySet()) { // not forEach(lambda): on the first test's path
            request.add("envvar", variable.getKey() + "=" + variable.getValue());
        }
        request.add("cwd", command.workingDirectory().orElse(spec.workingDirectory()));
        if (user != null) {
            request.add("uid", Integer.toString(user.uid())).add("gid", Integer.toString(user.gid()));
            if (!user.groups().isEmpty()) {
                request.add("groups", groupList(user));
            }
        }
        request.add("stdin", command.stdin().isPresent() || command.hasOpenStdin() ? "pipe" : "null");
        boolean quiet = !awaitSpawn && command.stdin().isEmpty();
        if (quiet) {
            request.add("spawned", "false");
        }
        Frame frame = Frame.of(FrameType.SPAWN, p.id, request);
        if (frame.length() > Frame.MAX_LENGTH) {
            throw new IllegalArgumentException(String.format(
                    Locale.ROOT,
                    "The command line of %s makes a request of "
                            + "%,d bytes, over the isolated helper's limit of %,d bytes (arguments and environment variables "
                            + "together); pass large data on stdin (Command.withStdin) or in a file",
                    abbreviated(command.argv()),
                    frame.length(),
                    Frame.MAX_LENGTH));
        }
        if (quiet) {
            p.spawnedNanos = System.nanoTime();
            p.spawned.complete(Fields.of()); // what cannot start completes the exit exceptionally
        }
        lockToSend(sending, command);
        try {
            helper.listen(p.id, p);
            helper.send(frame);
        } finally {
            sending.unlock();
        }
        if (!quiet) {
            p.awaitSpawned(!awaitSpawn);
        }
        Optional<byte[]> stdin = command.stdin();
        if (stdin.isPresent()) {
            p.stdin.writeAllAndClose(stdin.get());
        }
        return p;
    }

    /**
     * Takes {@code sending}, once a freeze of the environment that runs has finished. A thread interrupted already
     * takes it all the same when none runs, as before there were freezes: its wait for the command ends at that
     * interrupt.
     */
    private static void lockToSend(Lock sending, Command command) {
        if (Thread.currentThread().isInterrupted() && sending.tryLock()) {
            return;
        }
        try {
            sending.lockInterruptibly();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IsolatedException(
                    "Interrupted while waiting for freeze() to finish before starting " + command.argv()
                            + "; it was not started",
                    e);
        }
    }

    /** @return the user's supplementary groups as the helper takes them: {@code 4,27} */
    static String groupList(ResolvedUser user) {
        StringBuilder sb = new StringBuilder();
        user.groups().forEach(g -> sb.append(sb.length() == 0 ? "" : ",").append(g));
        return sb.toString();
    }

    /** @param exec whether exec waits for the command: an interrupt then kills it, as one during the wait for its exit */
    private void awaitSpawned(boolean exec) {
        try {
            spawned.get(SPAWN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw asIsolated(e);
        } catch (TimeoutException e) {
            helper.unlisten(id);
            throw new IsolatedException("The isolated helper did not start " + command + " within " + SPAWN_TIMEOUT
                    + "; its stderr (the test's output) may say why");
        } catch (InterruptedException e) {
            if (exec) { // a SIGNAL after the SPAWN finds the process: the helper handles them in order
                throw killedOnInterrupt(e);
            }
            Thread.currentThread().interrupt();
            throw new IsolatedException(
                    "Interrupted while the isolated helper started " + command
                            + " (if it started, it runs until its environment closes)",
                    e);
        }
    }

    @Override
    public void onFrame(Frame frame) {
        switch (frame.type()) {
            case SPAWNED -> started(frame.fields());
            case STDOUT -> output(false, frame.payload());
            case STDERR -> output(true, frame.payload());
            case EXITED -> finish(frame.fields());
            case STDIN_WRITTEN -> stdin.written(frame.fields());
            case ERROR -> failSpawn(frame.fields());
            default -> {}
        }
    }

    /** SPAWNED: the pids are set before anyone waiting for the start (or the exit) can read them. */
    private void started(Fields f) {
        try {
            hostPid = Long.parseLong(f.get("pid").orElse("-1"));
            nsPid = Long.parseLong(f.get("nspid").orElse(Long.toString(hostPid)));
            spawnedNanos = System.nanoTime();
            spawned.complete(f);
        } catch (NumberFormatException e) {
            failed(new IsolatedException("The isolated helper reported a malformed pid for " + command + ": " + f, e));
        }
    }

    /** The command did not start: whoever waits for its start, or (exec) for its exit, gets {@code why}. */
    private void failed(RuntimeException why) {
        helper.unlisten(id);
        spawned.completeExceptionally(why);
        exited.completeExceptionally(why);
    }

    private void output(boolean isStderr, byte[] data) {
        synchronized (outputLock) { // a watch starting sees each chunk once: in the kept output or as it arrives
            (isStderr ? stderr : stdout).write(data);
            for (LineWatch watch : watches) {
                watch.accept(isStderr, data);
            }
        }
        OutputLines lines = isStderr ? stderrLines : stdoutLines;
        if (lines != null && consumerFailure == null) {
            try {
                lines.accept(data);
            } catch (Throwable t) { // the test's code, on the thread that reads every environment's output
                consumerFailure = t;
            }
        }
    }

    @Override
    public LineWatch watchLines(Pattern pattern, int times) {
        synchronized (outputLock) {
            LineWatch[] made = new LineWatch[1];
            made[0] = new LineWatch(pattern, times, longestLine, () -> {
                synchronized (outputLock) {
                    watches.remove(made[0]);
                }
            });
            made[0].accept(false, stdout.bytes());
            made[0].accept(true, stderr.bytes());
            if (outputEnded) {
                made[0].exited();
            } else {
                watches.add(made[0]);
            }
            return made[0];
        }
    }

    private void failSpawn(Fields error) {
        helper.unlisten(id);
        String errname = error.getOrEmpty("errname");
        String stage = error.getOrEmpty("stage");
        if (stage.equals("exec") && error.getOrEmpty("syscall").equals("execve")) {
            // Only execve's own failure is the program's (126, 127, as env and chroot give); a socketpair, pipe or
            // fork of the helper's that failed (EMFILE, EAGAIN) is the helper's, reported with its stage and hint.
            int code = errname.equals("ENOENT") ? 127 : 126;
            String why = code == 127 ? "command not found in the environment" : "cannot execute";
            completeAtOnce(code, command.get(0) + ": " + why + " (" + error.getOrEmpty("message") + ")");
        } else if (stage.equals("exec") && error.get("signal").isPresent()) {
            // Killed before its exec (kill -1 in the environment, the OOM killer): 128+N, as a shell's child killed
            // between fork and exec, or the command a moment later, ends.
            int signal = Integer.parseInt(error.get("signal").get());
            oomKilled = error.getOrEmpty("oom").equals("true");
            completeAtOnce(
                    128 + signal,
                    OptionalInt.of(signal),
                    error.getOrEmpty("message") + " (" + error.getOrEmpty("hint") + ")");
        } else if (stage.equals("cwd")) {
            completeAtOnce(125, workingDirectoryProblem(error));
        } else if (stage.equals("user") && user != null) {
            failed(userProblem(error));
        } else {
            failed(new HelperErrorException(error));
        }
    }

    /** A command that never ran: its exit code at once, and why on stderr, as a shell (or env, chroot) says. */
    private void completeAtOnce(int code, String why) {
        completeAtOnce(code, OptionalInt.empty(), why);
    }

    private void completeAtOnce(int code, OptionalInt signal, String why) {
        output(true, ("isolated: " + why + "\n").getBytes(StandardCharsets.UTF_8));
        spawned.complete(Fields.of());
        complete(code, signal);
    }

    /** The command's user cannot be switched to: most often an id the user namespace does not map, rootless. */
    private IsolatedException userProblem(Fields error) {
        String why = error.getOrEmpty("errname").equals("EINVAL")
                        && !error.getOrEmpty("path").isEmpty()
                ? error.getOrEmpty("path") + " is not mapped in the environment's user namespace"
                : error.getOrEmpty("message");
        String fix = subids
                ? "userMapping = SUBIDS maps 0 and the ids 1 up to the size of the tests' user's ranges in /etc/subuid"
                        + " and /etc/subgid (as root, 0 to 65535): give an id within them, or that user larger ranges"
                : "Run rootless, userMapping ROOT and SELF map one id only (0, or the tests' own uid); other users "
                        + "need userMapping = SUBIDS (@Isolated(userMapping = SUBIDS), "
                        + "builder().userMapping(UserMapping.SUBIDS)) and a range in /etc/subuid and /etc/subgid; as "
                        + "root every userMapping maps 0 to 65535";
        return new IsolatedException(
                "Command " + command + " cannot run as " + user.describe() + ": " + why + " ("
                        + error.getOrEmpty("syscall") + ": " + error.getOrEmpty("errname") + "). " + fix,
                new HelperErrorException(error));
    }

    private static String workingDirectoryProblem(Fields error) {
        String dir = "working directory " + error.getOrEmpty("path");
        String errname = error.getOrEmpty("syscall").equals("chdir") ? error.getOrEmpty("errname") : "";
        return switch (errname) {
            case "ENOENT" -> dir + " does not exist in the environment";
            case "ENOTDIR" -> dir + " is not a directory";
            default -> error.get("hint").orElse(dir + ": " + error.getOrEmpty("message"));
        };
    }

    private void finish(Fields status) {
        helper.unlisten(id);
        oomKilled = status.getOrEmpty("oom").equals("true");
        if (status.get("signal").isPresent()) {
            int signal = Integer.parseInt(status.get("signal").get());
            complete(128 + signal, OptionalInt.of(signal));
        } else {
            complete(Integer.parseInt(status.get("code").orElse("-1")), OptionalInt.empty());
        }
    }

    private void complete(int exitCode, OptionalInt signal) {
        if (stdoutLines != null && consumerFailure == null) {
            try {
                stdoutLines.flush();
                stderrLines.flush();
            } catch (Throwable t) {
                consumerFailure = t;
            }
        }
        synchronized (outputLock) { // every watch has every line before the exit is seen
            outputEnded = true;
            for (LineWatch watch : watches) {
                watch.exited();
            }
            watches.clear();
        }
        Throwable failure = consumerFailure;
        if (failure != null) {
            exited.completeExceptionally(new IsolatedException(
                    "The output consumer of " + command + " (Command.withOutputLines) threw " + failure
                            + "; it was given no more lines",
                    failure));
            return;
        }
        exited.complete(PublicObjects.execResult(
                command,
                exitCode,
                signal,
                stdout.bytes(),
                stdout.dropped(),
                stderr.bytes(),
                stderr.dropped(),
                timedOut,
                oomKilled,
                Duration.ofNanos(System.nanoTime() - startNanos)));
    }

    @Override
    public void onHelperGone(IsolatedException reason) {
        spawned.completeExceptionally(reason);
        exited.completeExceptionally(reason);
    }

    /**
     * Waits until the command exits, at most {@code timeout} from its start; then SIGTERM, and SIGKILL after a
     * grace period. Throws what kept it from starting.
     */
    ExecResult waitOrStop(Duration timeout) {
        try {
            long nanos = Timeouts.nanos(timeout);
            try {
                return exited.get(nanos, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                awaitSpawned(true); // the timeout runs from the start (SPAWNED), as when that was awaited first
                long left = nanos - (System.nanoTime() - spawnedNanos);
                if (left <= 0) {
                    throw e;
                }
                return exited.get(left, TimeUnit.NANOSECONDS);
            }
        } catch (TimeoutException e) {
            timedOut = true; // the command and what it started in its process group, as GNU timeout does
            signal(15, true);
            try {
                return exited.get(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException stillRunning) {
                signal(9, true);
                ExecResult result = waitFor(Duration.ofSeconds(30));
                awaitGroupGone();
                return result;
            } catch (InterruptedException interrupted) {
                throw killedOnInterrupt(interrupted);
            } catch (ExecutionException other) {
                throw asIsolated(other);
            }
        } catch (InterruptedException e) {
            throw killedOnInterrupt(e);
        } catch (ExecutionException e) {
            throw asIsolated(e);
        }
    }

    /**
     * exec's thread was interrupted: no one waits for the command any more, so it is killed with what it started in
     * its process group (SIGKILL, as at the end of a timeout) before the interrupt is reported; the thread's interrupt
     * status is kept.
     */
    private IsolatedException killedOnInterrupt(InterruptedException cause) {
        boolean running = !exited.isDone();
        IsolatedException interrupted = new IsolatedException(
                "Interrupted while waiting for " + command
                        + (running ? ": it was killed (SIGKILL to its process group)" : " (it had exited)"),
                cause);
        try {
            if (running) {
                Fields kill = Fields.of()
                        .add("proc", Integer.toString(id))
                        .add("signal", "9")
                        .add("group", "true");
                Uninterruptibly.get(helper.call(FrameType.SIGNAL, kill), TimeUnit.SECONDS.toNanos(30));
            }
            Uninterruptibly.get(exited, TimeUnit.SECONDS.toNanos(30));
            if (running && !awaitGroupGone()) {
                interrupted.addSuppressed(new IsolatedException("Processes of its process group (host pgid " + hostPid
                        + ") were still there " + GROUP_GONE.toSeconds() + " s after the SIGKILL"));
            }
        } catch (ExecutionException | TimeoutException notKilled) {
            if (!exited.isDone() || exited.isCompletedExceptionally()) {
                interrupted.addSuppressed(notKilled);
            } // else it exited before the signal reached it
        }
        Thread.currentThread().interrupt();
        return interrupted;
    }

    /**
     * After a SIGKILL to the command's process group: waits (through interrupts, at most {@link #GROUP_GONE}) until
     * no process is left in it, as the command's exit alone does not say (what it started is reparented, and dies
     * a moment later).
     *
     * @return whether the group is gone
     */
    private boolean awaitGroupGone() {
        long pgid = hostPid; // the command called setsid(): its host pid is its group's id on the host
        return pgid <= 0 || Uninterruptibly.await(() -> !ProcFs.anyInProcessGroup(pgid), GROUP_GONE.toNanos());
    }

    /** A wait on this process was interrupted: the process runs on; the thread's interrupt status is kept. */
    private IsolatedException interrupted(InterruptedException cause, String waitingFor) {
        Thread.currentThread().interrupt();
        return new IsolatedException(
                "Interrupted while waiting for " + command + " (host pid " + hostPid + ") " + waitingFor
                        + "; it still runs (kill() stops it, as closing its environment does)",
                cause);
    }

    @Override
    public List<String> command() {
        return command;
    }

    @Override
    public long pid() {
        return nsPid;
    }

    @Override
    public long hostPid() {
        return hostPid;
    }

    @Override
    public java.io.OutputStream stdin() {
        if (!openStdin) {
            throw new IllegalStateException("The stdin of " + command + " is not open: start it with "
                    + "Command.of(...).withOpenStdin() to write to it while it runs");
        }
        return stdin;
    }

    @Override
    public boolean isAlive() {
        return !exited.isDone();
    }

    @Override
    public String stdout() {
        return text(stdout);
    }

    @Override
    public String stderr() {
        return text(stderr);
    }

    @Override
    public CompletableFuture<ExecResult> onExit() {
        return exited.copy();
    }

    @Override
    public ExecResult waitFor(Duration timeout) {
        try {
            return exited.get(Timeouts.nanos(timeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new CompletionException(new TimeoutException(command + " (host pid " + hostPid
                    + ") is still running after " + Timeouts.millis(timeout) + " ms; " + outputSoFar()));
        } catch (InterruptedException e) {
            throw interrupted(e, "to exit");
        } catch (ExecutionException e) {
            throw asIsolated(e);
        }
    }

    @Override
    public String awaitOutput(Pattern pattern) {
        long deadline = Timeouts.deadline(awaitTimeout);
        try (LineWatch watch = watchLines(pattern, 1)) {
            while (true) {
                boolean done = exited.isDone(); // read first: once exited, the watch has had every line
                Optional<String> match = watch.firstMatch();
                if (match.isPresent()) {
                    return match.get();
                }
                if (done) {
                    throw new IllegalStateException(
                            command + " exited (" + exitedResult().exitCode() + ") without printing a line matching /"
                                    + pattern + "/; " + outputSoFar());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw PublicObjects.awaitTimeout("No line of " + command + " matched /" + pattern + "/ within "
                            + Timeouts.awaitTimeout(awaitTimeout) + "; " + outputSoFar());
                }
                // woken by a matching line or the exit; an unterminated last line is looked at every 10 ms
                try {
                    CompletableFuture.anyOf(watch.met(), exited)
                            .get(Math.min(left, UNTERMINATED_LINE_CHECK), TimeUnit.NANOSECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    // check again
                } catch (InterruptedException e) {
                    throw interrupted(e, "to print a line matching /" + pattern + "/");
                }
            }
        }
    }

    /** The result of a command that exited; what kept it from one (its consumer threw, the helper died) thrown. */
    private ExecResult exitedResult() {
        try {
            return exited.join();
        } catch (CompletionException e) {
            throw asIsolated(e.getCause() == null ? e : e.getCause());
        }
    }

    @Override
    public ExecResult awaitExit() {
        try {
            return exited.get(Timeouts.nanos(awaitTimeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw PublicObjects.awaitTimeout(command + " (host pid " + hostPid + ") did not exit within "
                    + Timeouts.awaitTimeout(awaitTimeout) + "; " + outputSoFar());
        } catch (InterruptedException e) {
            throw interrupted(e, "to exit");
        } catch (ExecutionException e) {
            throw asIsolated(e);
        }
    }

    @Override
    public void signal(int signal) {
        signal(signal, false);
    }

    /** SIGNAL to the process, or with {@code group} to its process group (it leads one: the helper's setsid()). */
    private void signal(int signal, boolean group) {
        if (exited.isDone()) {
            return;
        }
        try {
            Fields fields = Fields.of().add("proc", Integer.toString(id)).add("signal", Integer.toString(signal));
            if (group) {
                fields.add("group", "true");
            }
            // not cut short by an interrupt (the helper answers at once): a test's clean-up after one still works
            Uninterruptibly.get(helper.call(FrameType.SIGNAL, fields), TimeUnit.SECONDS.toNanos(30));
        } catch (ExecutionException e) {
            if (!exited.isDone()) {
                throw asIsolated(e);
            } // it exited meanwhile: nothing left to signal
        } catch (TimeoutException e) {
            throw asIsolated(e);
        }
    }

    @Override
    public ExecResult kill() {
        signal(9);
        try { // as signal(): an interrupted thread still gets the process killed and its result
            return Uninterruptibly.get(exited, TimeUnit.SECONDS.toNanos(30));
        } catch (TimeoutException e) {
            throw new CompletionException(new TimeoutException(
                    command + " (host pid " + hostPid + ") is still running 30000 ms after SIGKILL; " + outputSoFar()));
        } catch (ExecutionException e) {
            throw asIsolated(e);
        }
    }

    CompletableFuture<ExecResult> exit() {
        return exited;
    }

    private String outputSoFar() {
        return "stdout so far: " + tail(stdout()) + "; stderr so far: " + tail(stderr());
    }

    private static String text(BoundedOutput buffer) {
        return new String(buffer.bytes(), StandardCharsets.UTF_8);
    }

    private static String tail(String s) {
        return s.isEmpty() ? "(empty)" : "\"" + (s.length() > 500 ? "..." + s.substring(s.length() - 500) : s) + "\"";
    }

    private static String abbreviated(List<String> argv) {
        String text = argv.toString();
        return text.length() <= 80 ? text : text.substring(0, 80) + "...]";
    }

    static IsolatedException asIsolated(Throwable t) {
        if (t instanceof InterruptedException) {
            Thread.currentThread().interrupt();
            return new IsolatedException("Interrupted while waiting for the isolated helper's answer", t);
        }
        Throwable cause = t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof HelperErrorException err) {
            return err.toSetupException();
        }
        if (cause instanceof IsolatedException ie) {
            return ie;
        }
        return new IsolatedException(cause.toString(), cause);
    }
}
