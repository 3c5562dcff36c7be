package dev.isolated.internal.env;

import dev.isolated.Capabilities;
import dev.isolated.Command;
import dev.isolated.CommandRunner;
import dev.isolated.EnvironmentCleanupException;
import dev.isolated.ExecResult;
import dev.isolated.IsolatedEnvironment;
import dev.isolated.IsolatedException;
import dev.isolated.IsolatedProcess;
import dev.isolated.LinuxNamespace;
import dev.isolated.MountInfo;
import dev.isolated.ProcessInfo;
import dev.isolated.ResourceUsage;
import dev.isolated.Wait;
import dev.isolated.image.ImageConfig;
import dev.isolated.internal.api.PublicObjects;
import dev.isolated.internal.helper.Fields;
import dev.isolated.internal.helper.Frame;
import dev.isolated.internal.helper.FrameListener;
import dev.isolated.internal.helper.FrameType;
import dev.isolated.internal.helper.HelperConnection;
import dev.isolated.internal.helper.HelperErrorException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * An environment held by the resident helper: its init process keeps the namespaces alive, commands are
 * spawned into them on request, and {@link #close()} has the helper kill everything in it.
 */
public final class Environment implements IsolatedEnvironment, FrameListener {
    private static final Duration CREATE_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);
    private static final String LOCALHOST = "127.0.0.1\tlocalhost\n::1\tlocalhost\n"; // how /etc/hosts starts
    /** How long {@link #freezeLayer()} waits for the processes it sent SIGTERM to before it SIGKILLs them. */
    public static final Duration FREEZE_STOP = Duration.ofSeconds(10);

    private final HelperConnection helper;
    private volatile EnvironmentSpec spec; // replaced only by adopt(), before any command
    private final int id;
    private final CompletableFuture<Fields> created = new CompletableFuture<>();
    private final List<RunningProcess> processes = new CopyOnWriteArrayList<>();
    private final CommandHistory history = new CommandHistory();
    /** Read: while a command's request is sent; write: while a freeze runs, which so stops no command halfway. */
    private final ReentrantReadWriteLock freezing = new ReentrantReadWriteLock();

    private final Map<Integer, Integer> mappedPorts = new HashMap<>(); // guarded by itself
    private ResolvedUser defaultUser; // the environment's user or the image's User, resolved at the first command
    private volatile String diedHow;
    private volatile IsolatedException helperGone;
    private volatile boolean closed; // set once, under closeLock
    private final Object closeLock = new Object();
    private final CompletableFuture<Void> closeFinished = new CompletableFuture<>(); // the first close returned
    private long initHostPid;
    private CgroupFiles cgroup;
    private String address = "";
    private int upperFd = -1;
    private static final java.util.logging.Logger SERVICE_LOG = java.util.logging.Logger.getLogger(SERVICE_LOGGER);
    private IsolatedProcess service; // started by startImageCommand
    private volatile Duration startupTimeout = Duration.ofSeconds(60);
    private List<String> networkAliases = List.of();
    private String networkHosts; // the members' lines of /etc/hosts, null when on no network
    private volatile String hostAccessAddress = ""; // where host.isolated.internal points, once a port is exposed
    private final LayerSpec layers;
    private Path diskLayer; // the upper-dir= of a disk-backed writable layer, removed at close
    private String rootfsMode = "";
    private long idRangeBase; // as root: the host id of 0 inside
    private volatile Set<LinuxNamespace> namespaces =
            Set.of(); // as the helper created them (it adds USER to every environment)

    private Environment(HelperConnection helper, EnvironmentSpec spec, LayerSpec layers) {
        this.helper = helper;
        this.spec = spec;
        this.layers = layers;
        this.id = helper.newId();
    }

    /**
     * Creates an environment on its private network with aliases besides its hostname, and waits until its
     * init is ready.
     *
     * @param helper the resident helper
     * @param spec what to create
     * @param networkAliases further names of it in the other members' {@code /etc/hosts}
     * @return the environment
     */
    public static Environment create(HelperConnection helper, EnvironmentSpec spec, List<String> networkAliases) {
        return create(helper, spec, networkAliases, null);
    }

    /** Its members' names in {@code /etc/hosts}; when that cannot be written the environment is closed. */
    private void joinNetwork() {
        try {
            PrivateNetworks.join(spec.options().network(), this);
        } catch (RuntimeException e) {
            throw closedFor(new IllegalStateException(
                    "The environment could not join the private "
                            + "network " + spec.options().network()
                            + " (it was closed): the members' names go into its "
                            + "/etc/hosts, "
                            + (spec.readOnlyRootfs()
                                    ? "which a read-only rootfs does not let write: "
                                    : "which failed: ")
                            + e.getMessage(),
                    e));
        }
    }

    /** The image's {@code WorkingDir}, made when the environment lacks it; when that fails the environment is closed. */
    private void makeImageWorkingDirectory() {
        String dir = spec.workingDirectory();
        try {
            ImageWorkingDirectory.makeIfMissing(files(), dir);
        } catch (RuntimeException e) {
            throw closedFor(new IsolatedException(
                    "The image's WorkingDir " + dir + " is not in its rootfs and could not be made in the environment "
                            + "(it was closed): " + e.getMessage() + ". Add the directory to the image, or give the "
                            + "environment a working directory that exists (@Isolated(workingDirectory = ...), "
                            + "builder().workingDirectory(...))",
                    e));
        }
    }

    /** Closes this environment, which FAILURE (returned) made unusable; a failure of the close is added to it. */
    private RuntimeException closedFor(RuntimeException failure) {
        try {
            close();
        } catch (RuntimeException suppressed) {
            failure.addSuppressed(suppressed);
        }
        return failure;
    }

    /** @return the names of this environment on its private network: its hostname (if any), then its aliases */
    List<String> networkNames() {
        List<String> names = new ArrayList<>();
        if (!spec.hostname().isEmpty()) {
            names.add(spec.hostname());
        }
        names.addAll(networkAliases);
        return names;
    }

    /** Called by {@link PrivateNetworks} as this environment joins: {@code /etc/hosts} is written whole. */
    synchronized void networkHostsChanged(String memberLines) {
        networkHosts = memberLines;
        writeHosts();
    }

    /**
     * Called by {@link PrivateNetworks}: a member left, so its line ({@code departed}, as the members' lines had it)
     * goes from {@code /etc/hosts}; every other line stays, whoever wrote it. A symlink there is not followed.
     */
    synchronized void networkMemberLeft(String memberLines, String departed) {
        networkHosts = memberLines;
        files().rewriteNoFollow(
                        "/etc/hosts",
                        hosts -> hosts.lines().noneMatch(departed::equals)
                                ? hosts
                                : hosts.lines()
                                        .filter(line -> !line.equals(departed))
                                        .map(line -> line + "\n")
                                        .collect(Collectors.joining()));
    }

    /**
     * Called by {@link PrivateNetworks}: a member joined, so its line ({@code joined}, as the members' lines have it)
     * goes at the end of {@code /etc/hosts}; every other line stays, whoever wrote it. A symlink there is not
     * followed; a file the environment's commands deleted is written anew, whole.
     */
    synchronized void networkMemberJoined(String memberLines, String joined) {
        networkHosts = memberLines;
        if (!files().exists("/etc/hosts")) {
            writeHosts();
            return;
        }
        files().rewriteNoFollow(
                        "/etc/hosts",
                        hosts -> hosts.lines().anyMatch(joined::equals) ? hosts : withLine(hosts, joined + "\n"));
    }

    /** @return HOSTS, ended by a newline if it has a last line, then LINE */
    private static String withLine(String hosts, String line) {
        return (hosts.isEmpty() || hosts.endsWith("\n") ? hosts : hosts + "\n") + line;
    }

    /** {@code /etc/hosts} written whole: the network's members, and {@value IsolatedEnvironment#HOST_ALIAS}. */
    private synchronized void writeHosts() {
        writeString("/etc/hosts", LOCALHOST + hostLine() + networkHosts);
    }

    /** The line naming {@value IsolatedEnvironment#HOST_ALIAS}, empty while no port is exposed. */
    private String hostLine() {
        return hostAccessAddress.isEmpty() ? "" : hostAccessAddress + "\t" + HOST_ALIAS + "\n";
    }

    /** The line of {@value IsolatedEnvironment#HOST_ALIAS} goes at the end of {@code /etc/hosts}; the others stay. */
    private synchronized void addHostLine() {
        String hosts = files().readIfExists("/etc/hosts").orElse(LOCALHOST);
        writeString("/etc/hosts", withLine(hosts, hostLine()));
    }

    @Override
    public void exposeHostPort(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("exposeHostPort(" + port + "): a TCP port is 1..65535");
        }
        ensureOpen();
        Fields reply = await(helper.call(
                FrameType.HOST_PORT,
                Fields.of().add("env", Integer.toString(id)).add("port", Integer.toString(port))));
        synchronized (this) {
            if (hostAccessAddress.isEmpty()) {
                hostAccessAddress = reply.getOrEmpty("address");
                try {
                    addHostLine();
                } catch (RuntimeException e) {
                    throw new IllegalStateException(
                            "exposeHostPort(" + port + "): the port is reached on "
                                    + hostAccessAddress + ":" + port + " inside, but /etc/hosts could not name "
                                    + HOST_ALIAS + " (" + e.getMessage() + "); connect to " + hostAccessAddress
                                    + " instead",
                            e);
                }
            }
        }
    }

    /** @return whether {@link #close()} was called */
    public boolean isClosed() {
        return closed;
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
        return create(helper, spec, List.of(), null);
    }

    /**
     * Creates an environment with its writable layer as {@code layers} says, and waits until its init is ready.
     *
     * @param networkAliases further names of it in the other members' {@code /etc/hosts}
     * @param layers where the writable layer lives and the frozen layers under it; {@code null}: the helper's
     *     defaults (a tmpfs of the kernel's default size, no layer)
     */
    public static Environment create(
            HelperConnection helper, EnvironmentSpec spec, List<String> networkAliases, LayerSpec layers) {
        Environment env = new Environment(helper, spec, layers);
        env.networkAliases = List.copyOf(networkAliases);
        try {
            env.start();
        } catch (RuntimeException e) {
            env.removeDiskLayer(e);
            throw e;
        }
        return env;
    }

    private void start() {
        diskLayer = layers == null ? null : layers.newDiskLayer();
        Fields request = CreateRequest.of(spec, layers, diskLayer);
        helper.listen(id, this);
        try {
            helper.send(Frame.of(FrameType.CREATE, id, request));
        } catch (RuntimeException e) {
            helper.unlisten(id);
            throw e;
        }
        try {
            Fields reply = created.get(CREATE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            initHostPid = Long.parseLong(reply.get("pid").orElseThrow());
            // Plain code, not Optional.map: each lambda is a class spun at its first use, on the first test's path.
            Optional<String> ns = reply.get("ns");
            namespaces = ns.isPresent() ? namespaces(ns.get()) : spec.namespaces();
            cgroup = CgroupFiles.from(reply);
            address = reply.getOrEmpty("ip");
            Optional<String> upper = reply.get("upper-fd");
            upperFd = upper.isPresent() ? Integer.parseInt(upper.get()) : -1;
            rootfsMode = reply.getOrEmpty("rootfs-mode");
            Optional<String> range = reply.get("id-range");
            idRangeBase = range.isPresent() ? Long.parseLong(range.get().split("\t")[0]) : 0L;
            if (ImageWorkingDirectory.mayBeMissing(spec, layers)) {
                makeImageWorkingDirectory();
            }
            if (!address.isEmpty()) {
                joinNetwork();
            }
        } catch (TimeoutException e) {
            // The init may still come up later: have the helper kill it rather than leave it to the JVM's exit.
            helper.call(FrameType.CLOSE, Fields.of().add("env", Integer.toString(id)));
            helper.unlisten(id);
            throw new IsolatedException(
                    "The isolated helper did not create the environment within " + CREATE_TIMEOUT
                            + "; it was closed. The helper's stderr (printed with [isolated-helper]) may say why.",
                    e);
        } catch (InterruptedException e) {
            // The CREATE was sent: have the helper kill what it made, or it would live until the JVM's exit.
            IsolatedException interrupted = new IsolatedException(
                    "Interrupted while the isolated helper created the environment; it was closed", e);
            try {
                Uninterruptibly.get(
                        helper.call(FrameType.CLOSE, Fields.of().add("env", Integer.toString(id))),
                        CLOSE_TIMEOUT.toNanos());
            } catch (ExecutionException | TimeoutException notClosed) {
                interrupted.addSuppressed(notClosed);
            } finally {
                helper.unlisten(id);
            }
            Thread.currentThread().interrupt();
            throw interrupted;
        } catch (ExecutionException e) {
            helper.unlisten(id);
            throw RunningProcess.asIsolated(e);
        }
    }

    @Override
    public void onFrame(Frame frame) {
        switch (frame.type()) {
            case CREATED -> created.complete(frame.fields());
            case ERROR -> created.completeExceptionally(new HelperErrorException(frame.fields()));
            case ENV_DIED -> diedHow = howItDied(frame.fields());
            default -> {}
        }
    }

    @Override
    public void onHelperGone(IsolatedException reason) {
        created.completeExceptionally(reason);
        helperGone = reason;
    }

    /** @return what was created (with the hostname it was given last, see {@link #adopt}) */
    public EnvironmentSpec spec() {
        return spec;
    }

    /**
     * Makes this environment, made ahead of time and not used yet, the one {@code wanted} describes: its settings
     * must be this environment's but for the hostname (both named or both not), which is set in its UTS namespace when it differs.
     *
     * @throws IllegalArgumentException if {@code wanted} differs in more than the hostname
     * @throws IsolatedException if its init died or the hostname cannot be set (the environment is then still this
     *     one)
     * @throws IllegalStateException if it is closed
     */
    public void adopt(EnvironmentSpec wanted) {
        if (!wanted.withHostname("").equals(spec.withHostname(""))
                || wanted.hostname().isEmpty() != spec.hostname().isEmpty()) {
            throw new IllegalArgumentException("an environment of other settings cannot stand in for " + wanted);
        }
        ensureOpen(); // its init may have died while it waited
        if (!wanted.hostname().equals(spec.hostname())) {
            setHostname(wanted.hostname());
        }
        spec = wanted;
    }

    @Override
    public Set<LinuxNamespace> namespaces() {
        return namespaces.isEmpty() ? EnumSet.noneOf(LinuxNamespace.class) : EnumSet.copyOf(namespaces);
    }

    /** The {@code ns=} of the helper's CREATED reply: the namespaces the environment has. */
    private static Set<LinuxNamespace> namespaces(String list) {
        Set<LinuxNamespace> created = EnumSet.noneOf(LinuxNamespace.class);
        for (String name : list.split(",")) {
            if (!name.isEmpty()) {
                created.add(LinuxNamespace.parse(name));
            }
        }
        return created;
    }

    @Override
    public ExecResult exec(Command command) {
        return runner(null, false).exec(command);
    }

    @Override
    public IsolatedProcess start(Command command) {
        return runner(null, false).start(command);
    }

    @Override
    public ExecResult execAsPid1(String... command) {
        return runner(null, false, true).exec(Command.of(command));
    }

    @Override
    public CommandRunner enter(LinuxNamespace... namespaces) {
        for (LinuxNamespace ns : namespaces) {
            if (!this.namespaces.contains(ns)) {
                throw new IllegalArgumentException("Cannot enter namespace " + ns + ": this environment has only "
                        + this.namespaces + ". Add it to @Isolated(namespaces = ...) or builder().namespaces(...) to "
                        + "create it.");
            }
        }
        return runner(namespaces.length == 0 ? null : EnumSet.copyOf(Arrays.asList(namespaces)), false);
    }

    private CommandRunner runner(Set<LinuxNamespace> join, boolean unused) {
        return runner(join, unused, false);
    }

    private CommandRunner runner(Set<LinuxNamespace> join, boolean unused, boolean asPid1) {
        return new CommandRunner() {
            @Override
            public ExecResult exec(Command command) {
                if (command.hasOpenStdin()) {
                    throw new IllegalArgumentException("exec(" + command + ") waits for the exit, so nothing could "
                            + "write to an open stdin: use start(command) and its stdin(), or withStdin(bytes)");
                }
                ResolvedUser user = runAs(command);
                ExecResult result = spawn(join, asPid1, command, user, false)
                        .waitOrStop(command.timeout().orElse(spec.execTimeout()));
                history.record(result, user);
                return result;
            }

            @Override
            public IsolatedProcess start(Command command) {
                ResolvedUser user = runAs(command);
                RunningProcess p = spawn(join, asPid1, command, user, true);
                p.exit().thenAccept(result -> history.record(result, user));
                return p;
            }
        };
    }

    private RunningProcess spawn(
            Set<LinuxNamespace> join, boolean asPid1, Command command, ResolvedUser user, boolean awaitSpawn) {
        Fields request = Fields.of().add("env", Integer.toString(id));
        if (join != null) {
            request.add("join", EnvironmentSpec.namespaceList(join));
        }
        if (asPid1) {
            request.add("pid1", "true");
        }
        RunningProcess p = RunningProcess.spawn(helper, request, command, user, spec, awaitSpawn, freezing.readLock());
        for (RunningProcess done : processes) { // a snapshot; not removeIf(lambda): on the first test's path
            if (!done.isAlive()) {
                processes.remove(done);
            }
        }
        processes.add(p);
        return p;
    }

    @Override
    public ProcessBuilder processBuilder(String... command) {
        ensureOpen();
        if (command.length == 0) {
            throw new IllegalArgumentException("processBuilder needs a program and its arguments");
        }
        List<String> argv = new ArrayList<>(List.of(
                helper.binary().toString(),
                "enter",
                "--pid",
                Long.toString(initHostPid),
                "--inherit-env",
                "--cwd",
                spec.workingDirectory(),
                "--caps",
                spec.options().capabilities() == Capabilities.ALL ? "all" : "default",
                "--seccomp-profile",
                spec.options().seccompProfile()));
        ResolvedUser user = defaultUser();
        if (user != null) {
            argv.addAll(List.of("--uid", Integer.toString(user.uid()), "--gid", Integer.toString(user.gid())));
            if (!user.groups().isEmpty()) {
                argv.addAll(List.of("--groups", RunningProcess.groupList(user)));
            }
        }
        argv.add("--");
        argv.addAll(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().clear();
        pb.environment().putAll(spec.env());
        return pb;
    }

    /**
     * Who a command runs as: its own user (a name is looked up now, in the environment's files), else the
     * environment's, else the image's {@code User}, as in Docker; {@code null} for root, the helper's default.
     */
    private ResolvedUser runAs(Command command) {
        ensureOpen();
        if (command.user().isPresent()) {
            String user = command.user().get();
            return ResolvedUser.resolve(user, "Command.withUser(\"" + user + "\")", files()::readIfExists);
        }
        if (command.uid().isPresent()) {
            return ResolvedUser.ids(command.uid().getAsInt(), command.gid().getAsInt());
        }
        return defaultUser();
    }

    /** The environment's user, else the image's {@code User}, resolved once; {@code null} when neither is set. */
    private synchronized ResolvedUser defaultUser() {
        if (defaultUser == null && !spec.user().isEmpty()) {
            defaultUser = ResolvedUser.resolve(
                    spec.user(),
                    "The environment's user \"" + spec.user() + "\" (@Isolated(user), builder().user)",
                    files()::readIfExists);
        } else if (defaultUser == null && !spec.image().user().isEmpty()) {
            defaultUser = ResolvedUser.resolve(
                    spec.image().user(), "The image's User \"" + spec.image().user() + "\"", files()::readIfExists);
        }
        return defaultUser;
    }

    @Override
    public ImageConfig imageConfig() {
        return spec.image();
    }

    @Override
    public Command imageCommand(String... args) {
        ImageConfig image = spec.image();
        List<String> argv = new ArrayList<>(image.entrypoint());
        argv.addAll(args.length > 0 ? List.of(args) : image.cmd());
        if (argv.isEmpty()) {
            throw new IllegalStateException(
                    "The image of this environment (" + spec.rootfs() + ") declares no "
                            + "Entrypoint or Cmd: a plain rootfs tar has none. Run a command by name, e.g. exec(\"sh\", \"-c\", ...)");
        }
        return Command.of(argv.toArray(String[]::new));
    }

    @Override
    public synchronized IsolatedProcess startImageCommand(String... args) {
        if (service != null && service.isAlive()) {
            throw new IllegalStateException("The image's command already runs in this environment as its service "
                    + service.command() + " (host pid " + service.hostPid() + "); stop it (service().kill()) before "
                    + "starting it again");
        }
        Command command = imageCommand(args);
        String program = command.argv().get(0);
        String label =
                "[" + (spec.hostname().isEmpty() ? program.substring(program.lastIndexOf('/') + 1) : spec.hostname())
                        + "] ";
        service = start(command.withOutputLines(line -> SERVICE_LOG.info(() -> label + line)));
        return service;
    }

    @Override
    public IsolatedProcess startImageCommand(Wait wait, String... args) {
        java.util.Objects.requireNonNull(wait, "wait");
        IsolatedProcess started = startImageCommand(args);
        wait.waitUntilReady(this, started);
        return started;
    }

    @Override
    public synchronized IsolatedProcess service() {
        if (service == null) {
            throw new IllegalStateException("No service was started in this environment: call startImageCommand(...) "
                    + "or annotate the test with @StartImageCommand");
        }
        return service;
    }

    @Override
    public Duration startupTimeout() {
        return startupTimeout;
    }

    /** @param timeout how long a service of this environment may take to be ready */
    public void startupTimeout(Duration timeout) {
        this.startupTimeout = timeout;
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
    public void setHostname(String name) {
        Hostnames.check(name);
        ensureOpen();
        if (!namespaces.contains(LinuxNamespace.UTS)) {
            throw new IllegalStateException("This environment has no UTS namespace of its own: its hostname is the "
                    + "host's. Add LinuxNamespace.UTS to change it.");
        }
        await(helper.call(
                FrameType.SET_HOSTNAME,
                Fields.of().add("env", Integer.toString(id)).add("hostname", name)));
    }

    @Override
    public String hostname() {
        ensureOpen();
        return await(helper.call(FrameType.UNAME, Fields.of().add("env", Integer.toString(id))))
                .getOrEmpty("hostname");
    }

    @Override
    public long initHostPid() {
        return initHostPid;
    }

    @Override
    public ResourceUsage resourceUsage() {
        ensureOpen();
        if (cgroup == null) {
            throw new IllegalStateException("This environment's cgroup counts no resources: give it @Limits "
                    + "(or builder().trackResources(true))");
        }
        return cgroup.usage();
    }

    @Override
    public String address() {
        if (address.isEmpty()) {
            throw new IllegalStateException("This environment is on no private network: use builder().network(name) "
                    + "with LinuxNamespace.NET");
        }
        return address;
    }

    @Override
    public String readString(String path) {
        return files().readString(path);
    }

    @Override
    public void writeString(String path, String content) {
        files().writeString(path, content);
    }

    @Override
    public void copyIn(Path hostSource, String target) {
        files().copyIn(hostSource, target);
    }

    @Override
    public void copyOut(String source, Path hostTarget) {
        files().copyOut(source, hostTarget);
    }

    private EnvironmentFiles files() {
        return new EnvironmentFiles(initHostPid, this::ensureOpen, helper, id);
    }

    @Override
    public void awaitFile(String path) {
        if (!pollUntil(() -> files().exists(path), path + " to appear")) {
            throw PublicObjects.awaitTimeout(
                    path + " did not appear in " + this + " within " + Timeouts.awaitTimeout(spec.awaitTimeout()));
        }
    }

    @Override
    public void awaitPort(int port) {
        ensureOpen();
        BooleanSupplier listens = () -> {
            ensureOpen(); // closed meanwhile: its init's pid no longer names it
            return ListeningPorts.of(initHostPid, namespaces().contains(LinuxNamespace.NET))
                    .contains(port);
        };
        if (!pollUntil(listens, "TCP port " + port + " to listen")) {
            throw PublicObjects.awaitTimeout("Nothing listened on TCP port " + port + " in " + this + " within "
                    + Timeouts.awaitTimeout(spec.awaitTimeout()) + "; listening ports: "
                    + ListeningPorts.of(initHostPid, namespaces().contains(LinuxNamespace.NET)));
        }
    }

    /**
     * Checks {@code ready} every 10 ms until it is true or the await timeout passes; an interrupt ends the wait with
     * an {@link IsolatedException}, the thread's interrupt status kept.
     *
     * @return whether it became true in time
     */
    private boolean pollUntil(BooleanSupplier ready, String what) {
        long deadline = Timeouts.deadline(spec.awaitTimeout());
        while (!ready.getAsBoolean()) {
            if (deadline - System.nanoTime() <= 0) {
                return false;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IsolatedException("Interrupted while waiting for " + what + " in " + this, e);
            }
        }
        return true;
    }

    /**
     * Copies the environment's writable layer (what its commands wrote or deleted) to a host directory.
     *
     * @param target the host directory to create (it must not exist; its parents are created)
     * @return what a failure report should add: empty, or what was left out (see {@link WritableLayer})
     * @throws IOException when it cannot be copied
     * @throws IllegalStateException when the helper did not report the layer
     */
    public String copyWritableLayer(Path target) throws IOException {
        ensureOpen();
        if (upperFd < 0) {
            throw new IllegalStateException("The helper did not report this environment's writable layer");
        }
        return WritableLayer.copy(initHostPid, upperFd, target);
    }

    /**
     * Stops every process of the environment but its init (SIGTERM, then SIGKILL after {@link #FREEZE_STOP}) and
     * copies its writable layer to a new host directory that later environments use as a read-only layer.
     *
     * @return the image and layers an environment of this state is made of
     * @throws IllegalStateException when the environment has no PID namespace or no overlay
     */
    public FrozenLayer freezeLayer() {
        ensureOpen();
        if (!namespaces.contains(LinuxNamespace.PID)) {
            throw new IllegalStateException(
                    "freeze() needs LinuxNamespace.PID: it stops every process of the environment, "
                            + "and only a PID namespace of its own tells them from the host's");
        }
        if (!"overlay".equals(rootfsMode) || upperFd < 0) {
            throw new IllegalStateException("freeze() needs an overlay root (this environment's root is a "
                    + (rootfsMode.isEmpty() ? "tree the helper did not name" : rootfsMode) + "): its writable layer "
                    + "becomes a layer of the environments made from it");
        }
        LayerSpec own = layers != null ? layers : LayerSpec.defaults();
        if (own.layers().size() >= FrozenLayer.MAX_LAYERS) {
            throw new IllegalStateException("freeze(): this environment starts from a state of "
                    + own.layers().size() + " layers, the most an environment can start from, so none could start "
                    + "from a state frozen from it; freeze an environment made from a state of fewer layers "
                    + "(nothing was stopped)");
        }
        Lock freeze = freezing.writeLock();
        try {
            freeze.lockInterruptibly();
        } catch (InterruptedException e) {
            throw interruptedFreeze(e);
        }
        try {
            awaitCommandsStarted();
            ProcessStopper.stopAllButInit(initHostPid, FREEZE_STOP);
            Path target = LayerDirectories.in(own.root(), own.rootSetting()).newFrozenPath();
            LayerCopy.run(helper.binary(), initHostPid, upperFd, idRangeBase, target);
            List<Path> all = new ArrayList<>(List.of(target));
            all.addAll(own.layers());
            return new FrozenLayer(spec.rootfs(), spec.image(), all);
        } finally {
            freeze.unlock();
        }
    }

    /**
     * Returns once every command whose request was sent has started (or failed to): the helper handles requests in
     * order, a SPAWN until its command has exec'd or failed, so the answer to any later request (a UNAME here) comes
     * after. A command stopped before it announced itself to the helper would fail to start instead of exiting.
     */
    private void awaitCommandsStarted() {
        try {
            helper.call(FrameType.UNAME, Fields.of().add("env", Integer.toString(id)))
                    .get(CLOSE_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            throw interruptedFreeze(e);
        } catch (ExecutionException | TimeoutException e) {
            throw RunningProcess.asIsolated(e);
        }
    }

    private static IsolatedException interruptedFreeze(InterruptedException e) {
        Thread.currentThread().interrupt();
        return new IsolatedException(
                "Interrupted while freeze() waited for the commands other threads are starting; nothing was stopped",
                e);
    }

    private void removeDiskLayer(Throwable failure) {
        if (diskLayer == null) {
            return;
        }
        try {
            LayerDirectories.remove(diskLayer);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * The helper opens a listener for each FORWARD, also of a port already forwarded: a port is forwarded once, so
     * that every call names the same host port and a test polling {@code mappedPort} opens no listener per call.
     */
    @Override
    public int mappedPort(int port) {
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("mappedPort(" + port + "): a TCP port is 1..65535");
        }
        ensureOpen();
        synchronized (mappedPorts) {
            Integer known = mappedPorts.get(port);
            if (known != null) {
                return known;
            }
            Fields reply = await(helper.call(
                    FrameType.FORWARD,
                    Fields.of().add("env", Integer.toString(id)).add("port", Integer.toString(port))));
            int hostPort = Integer.parseInt(reply.get("host-port").orElseThrow());
            mappedPorts.put(port, hostPort);
            return hostPort;
        }
    }

    /**
     * @return what a failure report should show of this environment: the last commands with exit codes and
     *     output, its processes, mounts and hostname
     */
    public String diagnostics() {
        StringBuilder sb = new StringBuilder(toString()).append('\n');
        sb.append(history.describe());
        if (closed || diedHow != null || helperGone != null) {
            return sb.append(
                            closed
                                    ? "(closed)"
                                    : helperGone != null
                                            ? "(closed: " + helperGone.getMessage() + ")"
                                            : "(init died: " + diedHow + ")")
                    .toString();
        }
        try {
            sb.append("Processes (pid command):\n");
            for (ProcessInfo p : processes()) {
                sb.append("  ")
                        .append(p.pid())
                        .append(' ')
                        .append(p.commandLine().isEmpty() ? p.command() : p.commandLine())
                        .append('\n');
            }
            sb.append("Mounts:\n");
            for (MountInfo m : mounts()) {
                sb.append("  ")
                        .append(m.mountPoint())
                        .append(' ')
                        .append(m.fsType())
                        .append(' ')
                        .append(m.options())
                        .append('\n');
            }
            if (namespaces.contains(LinuxNamespace.UTS)) {
                sb.append("Hostname: ").append(hostname()).append('\n');
            }
        } catch (RuntimeException e) {
            sb.append("(could not read more: ").append(e.getMessage()).append(")\n");
        }
        return sb.toString();
    }

    /** An ENV-DIED's {@code signal=N} or {@code code=N} in words: "killed by signal 9 (SIGKILL)", "exited with code 1". */
    static String howItDied(Fields died) {
        String signal = died.getOrEmpty("signal");
        if (!signal.isEmpty()) {
            return "killed by signal " + signal
                    + switch (signal) {
                        case "9" -> " (SIGKILL: killed from outside, e.g. kill -9 or the OOM killer)";
                        case "15" -> " (SIGTERM)";
                        case "11" -> " (SIGSEGV)";
                        case "6" -> " (SIGABRT)";
                        default -> "";
                    };
        }
        String code = died.getOrEmpty("code");
        return code.isEmpty() ? "for a reason the helper did not give" : "exited with code " + code;
    }

    /** What every use of a closed environment throws, as an {@link IllegalStateException}. */
    public static final String CLOSED = "This isolated environment is closed: close() was called, or the extension "
            + "closed it when its test (with Lifecycle.PER_CLASS, its class) ended";

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(CLOSED);
        }
        IsolatedException gone = helperGone;
        if (gone != null) {
            throw new IsolatedException("This isolated environment is closed: " + gone.getMessage(), gone);
        }
        if (diedHow != null) {
            throw new IsolatedException(
                    "This isolated environment's init (host pid " + initHostPid + ") died: " + diedHow);
        }
    }

    @Override
    public void close() {
        CompletableFuture<Fields> closing = beginClose();
        if (closing == null) {
            awaitFirstClose();
            return;
        }
        try {
            finishClose(closing);
        } finally {
            closeFinished.complete(null);
        }
    }

    /** A repeated close returns once the first one did: its processes have exited then too. */
    private void awaitFirstClose() {
        try {
            Uninterruptibly.get(closeFinished, Timeouts.LONGEST.toNanos());
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("the first close() of " + this + " did not finish", e);
        }
    }

    /**
     * {@link #close()} that returns once the CLOSE is sent: the helper kills everything in this environment before it
     * handles any other request. The rest of {@code close()} (its answer, the processes' exits, a disk layer's
     * removal) runs on {@code executor}.
     *
     * @return completes when {@code close()} would have returned; exceptionally with what it would have thrown
     */
    public CompletableFuture<Void> closeInBackground(Executor executor) {
        CompletableFuture<Fields> closing = beginClose();
        return closing == null
                ? CompletableFuture.completedFuture(null)
                : CompletableFuture.runAsync(
                        () -> {
                            try {
                                finishClose(closing);
                            } finally {
                                closeFinished.complete(null);
                            }
                        },
                        executor);
    }

    /**
     * @return the CLOSE's answer (failed when it could not be sent); {@code null} when closed already, also by another
     *     thread at the same time (only one sends the CLOSE: the helper answers a second with "no such environment")
     */
    private CompletableFuture<Fields> beginClose() {
        synchronized (closeLock) {
            if (closed) {
                return null;
            }
            closed = true;
        }
        if (!address.isEmpty()) {
            PrivateNetworks.leave(spec.options().network(), this);
        }
        CompletableFuture<Fields> closing;
        try {
            closing = helper.isAlive()
                    ? helper.call(FrameType.CLOSE, Fields.of().add("env", Integer.toString(id)))
                    : CompletableFuture.completedFuture(Fields.of());
        } catch (RuntimeException e) {
            closing = CompletableFuture.failedFuture(e);
        }
        return closing;
    }

    private void finishClose(CompletableFuture<Fields> closing) {
        List<String> leftovers = new ArrayList<>();
        List<Throwable> causes = new ArrayList<>();
        try {
            awaitClosed(closing);
        } catch (RuntimeException e) {
            leftovers.add("the environment itself (init host pid " + initHostPid + "): " + e.getMessage());
            causes.add(e);
        } finally {
            helper.unlisten(id);
        }
        if (diskLayer != null && leftovers.isEmpty()) {
            try {
                LayerDirectories.remove(diskLayer);
            } catch (IOException e) {
                leftovers.add("the disk-backed writable layer " + diskLayer + ": " + e.getMessage());
                causes.add(e);
            }
        }
        for (RunningProcess p : processes) {
            try {
                Uninterruptibly.get(p.exit(), TimeUnit.SECONDS.toNanos(5));
            } catch (TimeoutException e) {
                leftovers.add("process " + p.command() + (p.hostPid() < 0 ? "" : " (host pid " + p.hostPid() + ")")
                        + " still running");
                causes.add(e);
            } catch (ExecutionException e) {
                // Its exit was not reported because the helper went away; the helper kills it then.
            }
        }
        if (!leftovers.isEmpty()) {
            EnvironmentCleanupException ex = PublicObjects.cleanupException(
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

    /** {@link #await}, which an interrupt does not cut short: closing finishes also on an interrupted thread. */
    private static Fields awaitClosed(CompletableFuture<Fields> reply) {
        try {
            return Uninterruptibly.get(reply, CLOSE_TIMEOUT.toNanos());
        } catch (ExecutionException | TimeoutException e) {
            throw RunningProcess.asIsolated(e);
        }
    }

    @Override
    public String toString() {
        return "IsolatedEnvironment[" + namespaces + (spec.hostname().isEmpty() ? "" : ", " + spec.hostname())
                + ", init host pid " + initHostPid + "]";
    }
}
