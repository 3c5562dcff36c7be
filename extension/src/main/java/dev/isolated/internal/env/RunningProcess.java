package dev.isolated.internal.env;

import dev.isolated.ExecResult;
import dev.isolated.IsolatedException;
import dev.isolated.IsolatedProcess;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.Frame;
import dev.isolated.internal.helper.FrameListener;
import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.HelperErrorException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A command spawned by the helper in an environment: collects its output frames and completes when the
 * helper reports its exit. A command that does not exist or cannot be executed completes at once with
 * exit code 127 or 126 and an explanation on stderr, as a shell would.
 */
final class RunningProcess implements IsolatedProcess, FrameListener {
    private static final Duration SPAWN_TIMEOUT = Duration.ofSeconds(60);

    private final HelperConnection helper;
    private final int id;
    private final List<String> command;
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private final CompletableFuture<Fields> spawned = new CompletableFuture<>();
    private final CompletableFuture<ExecResult> exited = new CompletableFuture<>();
    private final long startNanos = System.nanoTime();
    private volatile boolean timedOut;
    private volatile long hostPid = -1;
    private volatile long nsPid = -1;

    private RunningProcess(HelperConnection helper, List<String> command) {
        this.helper = helper;
        this.id = helper.newId();
        this.command = List.copyOf(command);
    }

    static RunningProcess spawn(HelperConnection helper, Fields request, List<String> command) {
        if (command.isEmpty()) {
            throw new IllegalArgumentException("No command given: pass the program and its arguments");
        }
        RunningProcess p = new RunningProcess(helper, command);
        for (String arg : command) {
            request.add("arg", arg);
        }
        helper.listen(p.id, p);
        helper.send(Frame.of('S', p.id, request));
        p.awaitSpawned();
        return p;
    }

    private void awaitSpawned() {
        try {
            Fields f = spawned.get(SPAWN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            hostPid = Long.parseLong(f.get("pid").orElse("-1"));
            nsPid = Long.parseLong(f.get("nspid").orElse(Long.toString(hostPid)));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof HelperErrorException err) {
                throw err.toSetupException();
            }
            throw asIsolated(e.getCause());
        } catch (TimeoutException e) {
            throw new IsolatedException("The isolated helper did not start " + command + " within " + SPAWN_TIMEOUT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IsolatedException("Interrupted while starting " + command, e);
        }
    }

    @Override
    public void onFrame(Frame frame) {
        switch (frame.type()) {
            case 'p' -> spawned.complete(frame.fields());
            case 'O' -> append(stdout, frame.payload());
            case 'R' -> append(stderr, frame.payload());
            case 'x' -> finish(frame.fields());
            case 'E' -> failSpawn(frame.fields());
            default -> { }
        }
    }

    private void failSpawn(Fields error) {
        helper.unlisten(id);
        String errname = error.getOrEmpty("errname");
        if (error.getOrEmpty("stage").equals("exec")) {
            int code = errname.equals("ENOENT") ? 127 : 126;
            String why = code == 127 ? "command not found in the environment" : "cannot execute";
            append(stderr, ("isolated: " + command.get(0) + ": " + why + " (" + error.getOrEmpty("message") + ")\n")
                    .getBytes(StandardCharsets.UTF_8));
            spawned.complete(Fields.of());
            complete(code, OptionalInt.empty());
        } else {
            spawned.completeExceptionally(new HelperErrorException(error));
        }
    }

    private void finish(Fields status) {
        helper.unlisten(id);
        if (status.get("signal").isPresent()) {
            int signal = Integer.parseInt(status.get("signal").get());
            complete(128 + signal, OptionalInt.of(signal));
        } else {
            complete(Integer.parseInt(status.get("code").orElse("-1")), OptionalInt.empty());
        }
    }

    private void complete(int exitCode, OptionalInt signal) {
        exited.complete(new ExecResult(command, exitCode, signal, bytes(stdout), bytes(stderr), timedOut,
                Duration.ofNanos(System.nanoTime() - startNanos)));
    }

    @Override
    public void onHelperGone(IsolatedException reason) {
        spawned.completeExceptionally(reason);
        exited.completeExceptionally(reason);
    }

    ExecResult waitOrStop(Duration timeout) {
        try {
            return exited.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            timedOut = true;
            signal(15);
            try {
                return exited.get(2, TimeUnit.SECONDS);
            } catch (TimeoutException stillRunning) {
                return kill();
            } catch (InterruptedException | ExecutionException other) {
                throw asIsolated(other);
            }
        } catch (InterruptedException | ExecutionException e) {
            throw asIsolated(e);
        }
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
    public ExecResult waitFor(Duration timeout) {
        try {
            return exited.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new CompletionException(new TimeoutException(command + " (host pid " + hostPid
                    + ") is still running after " + timeout.toMillis() + " ms; stdout so far: " + tail(stdout())
                    + "; stderr so far: " + tail(stderr())));
        } catch (InterruptedException | ExecutionException e) {
            throw asIsolated(e);
        }
    }

    @Override
    public void signal(int signal) {
        if (exited.isDone()) {
            return;
        }
        try {
            helper.call('K', Fields.of().add("proc", Integer.toString(id)).add("signal", Integer.toString(signal)))
                    .get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!exited.isDone()) {
                throw asIsolated(e);
            } // it exited meanwhile: nothing left to signal
        } catch (InterruptedException | TimeoutException e) {
            throw asIsolated(e);
        }
    }

    @Override
    public ExecResult kill() {
        signal(9);
        return waitFor(Duration.ofSeconds(30));
    }

    CompletableFuture<ExecResult> exit() {
        return exited;
    }

    private static void append(ByteArrayOutputStream buffer, byte[] data) {
        synchronized (buffer) {
            buffer.writeBytes(data);
        }
    }

    private static byte[] bytes(ByteArrayOutputStream buffer) {
        synchronized (buffer) {
            return buffer.toByteArray();
        }
    }

    private static String text(ByteArrayOutputStream buffer) {
        return new String(bytes(buffer), StandardCharsets.UTF_8);
    }

    private static String tail(String s) {
        return s.isEmpty() ? "(empty)" : "\"" + (s.length() > 500 ? "..." + s.substring(s.length() - 500) : s) + "\"";
    }

    static IsolatedException asIsolated(Throwable t) {
        if (t instanceof InterruptedException) {
            Thread.currentThread().interrupt();
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
