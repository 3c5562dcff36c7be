package dev.isolated.internal.env;

import dev.isolated.CommandRunner;
import dev.isolated.EnvironmentCleanupException;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedException;
import dev.isolated.IsolatedProcess;
import dev.isolated.MountInfo;
import dev.isolated.Namespace;
import dev.isolated.ProcessInfo;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.Frame;
import dev.isolated.internal.helper.FrameListener;
import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.HelperErrorException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An environment held by the resident helper: its init process keeps the namespaces alive, commands are
 * spawned into them on request, and {@link #close()} has the helper kill everything in it.
 */
public final class Environment implements IsolatedEnvironment, FrameListener {
    private static final Duration CREATE_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private final HelperConnection helper;
    private final EnvironmentSpec spec;
    private final int id;
    private final CompletableFuture<Fields> created = new CompletableFuture<>();
    private final List<RunningProcess> processes = new CopyOnWriteArrayList<>();
    private volatile String diedHow;
    private volatile boolean closed;
    private long initHostPid;

    private Environment(HelperConnection helper, EnvironmentSpec spec) {
        this.helper = helper;
        this.spec = spec;
        this.id = helper.newId();
    }

    /**
     * Creates an environment and waits until its init is ready.
     *
     * @param helper the resident helper
     * @param spec what to create
     * @return the environment
     * @throws dev.isolated.EnvironmentSetupException with the failing stage when the helper could not set it up
     */
    public static Environment create(HelperConnection helper, EnvironmentSpec spec) {
        Environment env = new Environment(helper, spec);
        env.start();
        return env;
    }

    private void start() {
        Fields request = Fields.of().add("rootfs", spec.rootfs().toString()).add("ns", spec.namespaceList());
        if (!spec.hostname().isEmpty()) {
            request.add("hostname", spec.hostname());
        }
        helper.listen(id, this);
        helper.send(Frame.of('C', id, request));
        try {
            Fields reply = created.get(CREATE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            initHostPid = Long.parseLong(reply.get("pid").orElseThrow());
        } catch (ExecutionException e) {
            helper.unlisten(id);
            throw RunningProcess.asIsolated(e);
        } catch (InterruptedException | TimeoutException e) {
            helper.unlisten(id);
            throw RunningProcess.asIsolated(e);
        }
    }

    @Override
    public void onFrame(Frame frame) {
        switch (frame.type()) {
            case 'c' -> created.complete(frame.fields());
            case 'E' -> created.completeExceptionally(new HelperErrorException(frame.fields()));
            case 'D' -> diedHow = frame.fields().toString();
            default -> { }
        }
    }

    @Override
    public void onHelperGone(IsolatedException reason) {
        created.completeExceptionally(reason);
        diedHow = "the helper went away: " + reason.getMessage();
    }

    @Override
    public Set<Namespace> namespaces() {
        return spec.namespaces().isEmpty() ? EnumSet.noneOf(Namespace.class) : EnumSet.copyOf(spec.namespaces());
    }

    @Override
    public ExecResult exec(String... command) {
        return runner(null, false).exec(command);
    }

    @Override
    public IsolatedProcess start(String... command) {
        return runner(null, false).start(command);
    }

    @Override
    public ExecResult execAsPid1(String... command) {
        return runner(null, true).exec(command);
    }

    @Override
    public CommandRunner enter(Namespace... namespaces) {
        for (Namespace ns : namespaces) {
            if (!spec.namespaces().contains(ns)) {
                throw new IllegalArgumentException("Cannot enter namespace " + ns + ": this environment has only "
                        + spec.namespaces() + ". Add it to @Isolated(namespaces = ...) to create it.");
            }
        }
        return runner(EnumSet.copyOf(Arrays.asList(namespaces)), false);
    }

    private CommandRunner runner(Set<Namespace> join, boolean asPid1) {
        return new CommandRunner() {
            @Override
            public ExecResult exec(String... command) {
                return spawn(join, asPid1, command).waitOrStop(spec.execTimeout());
            }

            @Override
            public IsolatedProcess start(String... command) {
                return spawn(join, asPid1, command);
            }
        };
    }

    private RunningProcess spawn(Set<Namespace> join, boolean asPid1, String... command) {
        ensureOpen();
        Fields request = Fields.of().add("env", Integer.toString(id));
        if (join != null) {
            StringBuilder list = new StringBuilder();
            for (Namespace ns : join) {
                list.append(list.length() > 0 ? "," : "").append(ns.shortName());
            }
            request.add("join", list.toString());
        }
        if (asPid1) {
            request.add("pid1", "true");
        }
        RunningProcess p = RunningProcess.spawn(helper, request, List.of(command));
        processes.add(p);
        processes.removeIf(done -> !done.isAlive() && done != p);
        return p;
    }

    @Override
    public List<ProcessInfo> processes() {
        ensureOpen();
        return ProcFs.processesInPidNamespaceOf(initHostPid);
    }

    @Override
    public List<MountInfo> mounts() {
        ensureOpen();
        return ProcFs.mounts(initHostPid);
    }

    @Override
    public String hostname() {
        ensureOpen();
        return await(helper.call('U', Fields.of().add("env", Integer.toString(id)))).getOrEmpty("hostname");
    }

    @Override
    public long initHostPid() {
        return initHostPid;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("This isolated environment is closed (it lives as long as its test)");
        }
        if (diedHow != null) {
            throw new IsolatedException("This isolated environment's init (host pid " + initHostPid + ") died: " + diedHow);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> leftovers = new ArrayList<>();
        List<Throwable> causes = new ArrayList<>();
        try {
            if (helper.isAlive()) {
                await(helper.call('X', Fields.of().add("env", Integer.toString(id))));
            }
        } catch (RuntimeException e) {
            leftovers.add("the environment itself (init host pid " + initHostPid + "): " + e.getMessage());
            causes.add(e);
        } finally {
            helper.unlisten(id);
        }
        for (RunningProcess p : processes) {
            try {
                p.exit().get(5, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                leftovers.add("process " + p.command() + " (host pid " + p.hostPid() + ") still running");
                causes.add(e);
            } catch (InterruptedException | ExecutionException e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                // Its exit was not reported because the helper went away; the helper kills it then.
            }
        }
        if (!leftovers.isEmpty()) {
            EnvironmentCleanupException ex = new EnvironmentCleanupException(
                    "Closing the isolated environment left behind:\n  " + String.join("\n  ", leftovers));
            causes.forEach(ex::addSuppressed);
            throw ex;
        }
    }

    private static Fields await(CompletableFuture<Fields> reply) {
        try {
            return reply.get(CLOSE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw RunningProcess.asIsolated(e);
        }
    }

    @Override
    public String toString() {
        return "IsolatedEnvironment[" + spec.namespaces() + ", rootfs " + spec.rootfs() + ", init host pid "
                + initHostPid + "]";
    }
}
