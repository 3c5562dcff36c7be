package dev.isolated;

import static org.apiguardian.api.API.Status.STABLE;

import dev.isolated.image.ImageConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.apiguardian.api.API;

/**
 * An environment made for one test by {@link Isolated} (or by {@link #builder()}): fresh namespaces and a
 * copy-on-write view of an image's rootfs as {@code /}. Declare it as a parameter of a test (or
 * {@code @BeforeEach}) method to receive it. Commands run with {@link #exec(String...)} join all of its
 * namespaces and see its init as PID 1, its mounts, and its hostname.
 *
 * <p>The extension closes the environment after the test; {@link #close()} may also be called earlier and
 * is harmless when repeated.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public interface IsolatedEnvironment extends CommandRunner, AutoCloseable {

    /**
     * Starts building an environment in code, for tests that need several or want one outside the
     * extension's lifecycle; close it with try-with-resources:
     *
     * <pre>{@code
     * try (IsolatedEnvironment server = IsolatedEnvironment.builder().rootfs("busybox.tar").hostname("server").start()) {
     *     assertThat(server.exec("hostname")).stdout().isEqualTo("server\n");
     * }
     * }</pre>
     *
     * @return a builder with the defaults of {@link Isolated}
     */
    static IsolatedEnvironmentBuilder builder() {
        return new IsolatedEnvironmentBuilder();
    }

    /**
     * The run defaults of the image this environment was made from (an OCI or {@code docker save} image's
     * config; {@link ImageConfig#EMPTY} for a plain rootfs tar). {@code Env} and {@code WorkingDir} are the
     * defaults of every command; {@code User} is the user of every command that does not give one with
     * {@link Command#withUser}, resolved in the environment's {@code /etc/passwd} and {@code /etc/group} at
     * the first command, as Docker does. The environment's own {@link Isolated#env()},
     * {@link Isolated#workingDirectory()} and {@link Isolated#user()} override them. A {@code WorkingDir} the
     * image lacks is made when the environment is created, as Docker and podman make it: with its missing
     * parents, owned by root inside (rootless with {@link UserMapping#SELF}: by the user's ids), mode {@code 0755};
     * not under {@link Isolated#readOnlyRootfs()}, where each command then exits with 125, saying so on stderr.
     *
     * @return the image's config
     */
    ImageConfig imageConfig();

    /**
     * The image's own command, as {@code docker run IMAGE [ARGS...]} runs it: its {@code Entrypoint}
     * followed by ARGS, or by its {@code Cmd} when no ARGS are given (without an {@code Entrypoint}, ARGS alone).
     *
     * <pre>{@code
     * IsolatedProcess server = env.start(env.imageCommand());
     * ExecResult version = env.exec(env.imageCommand("--version"));
     * }</pre>
     *
     * @param args the arguments replacing the image's {@code Cmd}; none keeps it
     * @return the command, to run with {@code exec} or {@code start} (and the {@code with...} options)
     * @throws IllegalStateException when no {@code args} are given and the image declares neither
     *     {@code Entrypoint} nor {@code Cmd}
     */
    Command imageCommand(String... args);

    /**
     * Starts the image's own command ({@link #imageCommand(String...)}: {@code Entrypoint} + {@code Cmd}, or
     * {@code Entrypoint} + {@code args}) as the environment's service, as {@code docker run IMAGE [ARGS...]} does,
     * without waiting for it to be ready. It runs with the defaults of every command: the environment's
     * {@link Isolated#user()}, {@link Isolated#workingDirectory()} and {@link Isolated#env()} (or the builder's) over
     * the image's {@code User}, {@code WorkingDir} and {@code Env}. Its output is kept as any started command's (see {@link IsolatedProcess#stdout()}) and streamed
     * line by line, stdout and stderr, to the {@code java.util.logging} logger {@value #SERVICE_LOGGER} at level
     * {@code INFO}, each line as {@code [<hostname>] <line>} with the hostname the environment was made with
     * ({@link Isolated#hostname()}, {@link IsolatedEnvironmentBuilder#hostname(String)}; {@link #setHostname}
     * does not change it), else the program's file name, e.g. {@code [sh] <line>} for an {@code Entrypoint} of
     * {@code /bin/sh} (a builder's environment without a hostname, although named {@code isolated}, or one without
     * {@link LinuxNamespace#UTS}). It is killed when the environment closes, like every command.
     *
     * @param args the arguments replacing the image's {@code Cmd}; none keeps it
     * @return the service, also returned by {@link #service()} from now on
     * @throws IllegalStateException when no {@code args} are given and the image declares neither
     *     {@code Entrypoint} nor {@code Cmd}, or when a service started earlier still runs
     */
    IsolatedProcess startImageCommand(String... args);

    /**
     * Starts the image's own command as the environment's service, as {@link #startImageCommand(String...)} does,
     * and waits until {@code wait} finds it ready, up to {@link #startupTimeout()}:
     *
     * <pre>{@code
     * env.startImageCommand(Wait.forLogLine("database system is ready to accept connections", 2));
     * }</pre>
     *
     * @param wait when the service is ready
     * @param args the arguments replacing the image's {@code Cmd}; none keeps it
     * @return the service, ready
     * @throws ServiceNotReadyException when it is not ready within the startup timeout, exits first (naming its exit
     *     code) or is unhealthy; the message ends with the last lines of its output. The service is left running
     *     (until the environment closes) for a look at it.
     */
    IsolatedProcess startImageCommand(Wait wait, String... args);

    /**
     * {@return the service started last by {@link #startImageCommand(String...)} (or by {@link StartImageCommand}),
     *     running or not}
     * @throws IllegalStateException when none was started in this environment
     */
    IsolatedProcess service();

    /**
     * {@return how long {@link Wait#waitUntilReady(IsolatedEnvironment, IsolatedProcess)} and
     *     {@link #startImageCommand(Wait, String...)} wait for a service of this environment: the builder's
     *     {@link IsolatedEnvironmentBuilder#startupTimeout(java.time.Duration)}, {@link StartImageCommand#startupTimeout()}, or
     *     {@value IsolatedConfiguration#STARTUP_TIMEOUT}; by default 60 s}
     */
    java.time.Duration startupTimeout();

    /** The {@code java.util.logging} logger a service's output goes to, line by line: {@value}. */
    String SERVICE_LOGGER = "dev.isolated.service";

    /** {@return the namespaces this environment has, always including {@link LinuxNamespace#USER}} */
    Set<LinuxNamespace> namespaces();

    /**
     * Runs commands joining only the given namespaces of this environment, as {@code nsenter} does; the
     * others stay the JVM's (the host's). Without {@link LinuxNamespace#MOUNT} a command sees the host's
     * filesystem rather than the image; without {@link LinuxNamespace#NET} it sees the host's network devices.
     * What that would expose is taken away as for an environment without those namespaces (see
     * {@link Capabilities}): without {@code MOUNT} root has no {@code SYS_CHROOT}, without {@code NET} no
     * {@code NET_RAW} and no {@code NET_ADMIN}, so it cannot sniff or reconfigure the host's network.
     * The environment's user namespace is always joined, named or not: such a command is the environment's
     * root (for the host, an id of the environment's range, see {@link LinuxNamespace#USER}), never the host's.
     * A command that does not join {@link LinuxNamespace#PID} runs outside the environment's PID namespace; closing
     * the environment kills it, and what it left running, all the same: through the environment's cgroup, or where
     * there is none through the environment's other namespaces (README, <em>Nothing leaks</em>).
     *
     * @param namespaces the namespaces to join; each must be one this environment has; none means all of them
     * @return a runner for such commands
     * @throws IllegalArgumentException naming the namespace when the environment does not have it, e.g. {@code
     *     Cannot enter namespace NET: this environment has only [PID, MOUNT, USER]. Add it to @Isolated(namespaces =
     *     ...) or builder().namespaces(...) to create it.}
     */
    CommandRunner enter(LinuxNamespace... namespaces);

    /**
     * @param first a namespace to join
     * @param more more of them
     * @return a runner, as {@link #enter(LinuxNamespace...)} with the namespaces of the same names
     * @deprecated {@link Namespace} is renamed {@link LinuxNamespace}: use {@link #enter(LinuxNamespace...)}
     */
    @Deprecated(since = "0.1", forRemoval = true)
    @SuppressWarnings("removal")
    default CommandRunner enter(Namespace first, Namespace... more) {
        return enter(Namespace.linuxNamespaces(first, more));
    }

    /**
     * Runs a command as PID 1 of a new PID namespace of its own inside this environment, with a fresh
     * {@code /proc}, as {@code unshare -p -f --mount-proc} does: {@code ps} run this way lists only
     * itself, as PID 1.
     *
     * @param command the program and its arguments
     * @return the result
     */
    ExecResult execAsPid1(String... command);

    /**
     * A real {@link ProcessBuilder} whose process runs inside this environment (joining all its namespaces),
     * for code under test that takes a {@code ProcessBuilder}. Its environment starts with the environment's
     * defaults ({@code PATH}, {@code HOME}, the image's {@code Env}, {@link Isolated#env()}); what you put in
     * {@link ProcessBuilder#environment()} is passed in. It starts in the environment's working directory and
     * runs as its user ({@link Isolated#workingDirectory()}, {@link Isolated#user()}, else the image's
     * {@code WorkingDir} and {@code User}), as every command that names none; a user that cannot be resolved
     * makes this method throw the {@link IsolatedException} {@link Command#withUser(String)} describes.
     * Redirects, {@code inheritIO} and {@code waitFor} work as usual; the {@link Process}'s exit value is the
     * command's exit code ({@code 128 + N} when signal {@code N} killed it; 125, 126 and 127 as in
     * {@link ExecResult}). The process is killed when this environment closes.
     *
     * <p>The {@link Process} is the Isolated helper on the host that joined the environment ({@code
     * isolated-helper enter}): {@link Process#pid()} and {@link Process#toHandle()} are that helper's host
     * pid, not a pid inside, and the command is not among its {@code descendants()}: inside, a small
     * supervisor ({@code isolated-helper} in {@link #processes()} while the command runs; with
     * {@link LinuxNamespace#PID} a child of the environment's init) is the parent of the command, which runs in
     * a session and process group of its own; {@link #processes()} shows both, with their pids inside and
     * on the host. The process lives as long as the command:
     * <ul>
     *   <li>{@link Process#destroy()} (SIGTERM) is a request: SIGTERM goes to the command's process group
     *       (the command and what it started, unless that left the group). Once the command has exited,
     *       whatever it started that still runs is SIGKILLed, and only when all of it is gone does the
     *       process exit, so {@code waitFor()} and {@code onExit()} complete after it. A command that
     *       ignores SIGTERM keeps running.</li>
     *   <li>{@link Process#destroyForcibly()} (SIGKILL) kills the helper at once (exit value 137), which
     *       cannot be caught: the supervisor inside sees it die and SIGKILLs the command and everything it
     *       started right after. {@code waitFor()} can therefore return a few milliseconds before they are
     *       gone; to be sure nothing runs any more, {@code destroy()} first, or wait until
     *       {@link #processes()} no longer lists them.</li>
     *   <li>When the command exits by itself, what it started and left running stays in the environment
     *       (until it closes), as after any {@link Process}.</li>
     * </ul>
     *
     * @param command the program and its arguments
     * @return the process builder
     */
    ProcessBuilder processBuilder(String... command);

    /** {@return the processes now running in the environment's PID namespace, ordered by pid} */
    List<ProcessInfo> processes();

    /** {@return the environment's mounts, as its {@code /proc/self/mountinfo} lists them} */
    List<MountInfo> mounts();

    /** {@return the environment's current hostname (what {@code hostname} prints inside)} */
    String hostname();

    /**
     * Changes the environment's hostname, also for images without a {@code hostname} program.
     *
     * @param name the new hostname
     * @throws IllegalArgumentException when it is not a valid hostname (the rule of
     *     {@link IsolatedEnvironmentBuilder#hostname(String)}), before anything is changed
     * @throws IllegalStateException when the environment has no {@link LinuxNamespace#UTS} namespace
     */
    void setHostname(String name);

    /** {@return the host pid of the environment's init, the process that holds its namespaces} */
    long initHostPid();

    /**
     * {@return what the environment's cgroup counted: memory now and at peak, processes, OOM kills, whichever cgroup
     * limits it has; -1 for a count whose controller the host does not offer (see {@link ResourceUsage})}
     * @throws IllegalStateException when the environment's cgroup counts nothing: it has no {@link Limits} with a
     *     cgroup limit (or an empty one), nor {@code builder().trackResources(true)}
     */
    ResourceUsage resourceUsage();

    /**
     * {@return the environment's address on its private network (see
     *     {@link IsolatedEnvironmentBuilder#network(String)}); other environments on that network reach it there}
     * @throws IllegalStateException when it is on no private network
     */
    String address();

    /**
     * Reads a regular file of the environment, as root inside would: another user's 0600 file in their 0700
     * directory (PostgreSQL's data or log files, say) is read too. As root the JVM reads it itself (host root may
     * read whatever root inside may); rootless the helper opens it in the environment's user namespace, as its root,
     * and sends its bytes to the JVM. Symlinks resolve inside the environment, never on the host
     * ({@code openat2(RESOLVE_IN_ROOT)}; magic links such as {@code /proc/<pid>/root} never lead out). Anything but a
     * regular file (a FIFO, socket, device or directory, or a symlink to one such as {@code /dev/zero}) is
     * refused without being opened for reading, so a FIFO the test made cannot block the JVM. At most 64 MiB are
     * read: a larger file, or a {@code /proc}-like file (whose size says 0) that yields more, is refused; copy it
     * to the host with {@link #copyOut(String, Path)} instead.
     *
     * @param path an absolute path inside the environment
     * @return its contents, decoded as UTF-8
     * @throws java.io.UncheckedIOException naming the path when it is missing or cannot be read, when it is not
     *     a regular file ({@code Cannot read /tmp/pipe: /tmp/pipe in the environment of host pid 4242 is a FIFO,
     *     not a regular file; only regular files are read}) or when it is larger than 64 MiB ({@code Cannot read
     *     /big: /big in the environment of host pid 4242 is larger than 64 MiB, the most readString reads; copy it
     *     to the host with copyOut instead})
     */
    String readString(String path);

    /**
     * Creates a regular file of the environment (mode 0644), or overwrites the contents of one that is there, which
     * keeps its mode and owner (as {@code echo > file} does); missing parent directories are created (0755), as with
     * {@code mkdir -p}. It writes as root inside would, like {@code docker cp}: the helper makes and opens the file in
     * the environment's user namespace, as its root (rootless with {@link UserMapping#SELF}, as the tests' own uid),
     * so another user's 0600 file in their 0700 directory (PostgreSQL's {@code pg_hba.conf}, say) is written too, and
     * what is made belongs to that user. It has no power over host ids the environment does not map: a bind's file
     * owned by one is written only as its mode lets others, as by a command inside. Symlinks resolve inside the
     * environment, never on the host, also one swapped in meanwhile. Anything at the path that is not a regular file
     * (a FIFO, socket, device or directory) is refused, and a FIFO is never opened in a way that could block.
     *
     * @param path an absolute path inside the environment
     * @param content the text, encoded as UTF-8
     * @throws java.io.UncheckedIOException naming the path when it cannot be written or is not a regular file
     *     ({@code Cannot write /tmp/pipe: /tmp/pipe in the environment of host pid 4242 is a FIFO, not a regular
     *     file})
     */
    void writeString(String path, String content);

    /**
     * Copies a host file or directory tree into the environment; missing parent directories of the target are
     * created (0755). It writes as {@link #writeString} does: as root inside, in the environment's user namespace.
     * Symlinks in the tree are copied as symlinks; symlinks on the way to the target resolve inside the
     * environment. A host file copied where a regular file already is (or one that a symlink there
     * leads to, inside the environment) overwrites its contents, which keeps its mode and owner; anything else
     * there (a directory, FIFO, socket or device), and anything at all where a directory or symlink is copied to,
     * is refused. A host FIFO, socket or device (as the source or in its tree) is refused, never opened.
     *
     * <p>Each file is streamed: opened once (a symlink at its path not followed), read and sent a frame of at most
     * 1 MiB at a time, so the JVM's memory stays bounded whatever the file's size (a sparse 1 TB file is copied too,
     * though as 1 TB of zeros: holes are not kept). It is copied as large as it was when opened: bytes it gains
     * meanwhile are left out; one that shrinks meanwhile fails the copy, naming it, and the file in the environment
     * is left with the bytes sent until then.
     *
     * @param hostSource the host path
     * @param target the absolute path inside the environment
     * @throws java.io.UncheckedIOException naming the path that could not be copied ({@code Cannot copy /host/big
     *     into the environment at /big: /host/big shrank while it was copied: it had 3,221,225,472 bytes when opened
     *     and 1,048,576 after 5,242,855 were read; /big in the environment is left incomplete}; {@code Cannot copy
     *     /host/pipe into the environment at /pipe: /host/pipe is a FIFO; copyIn copies regular files, directories
     *     and symlinks only})
     */
    void copyIn(Path hostSource, String target);

    /**
     * Copies a file, directory tree or symlink out of the environment to the host. It reads as {@link #readString}
     * does, as root inside would (rootless through the helper), so another user's 0600 file and 0700 directory are
     * copied too. Symlinks on the way to {@code source} resolve inside the environment; {@code source} itself and
     * everything below it are not followed: symlinks are copied as symlinks (their targets as they are, never
     * read), and every file is opened inside the environment's root without following a symlink, so nothing the
     * test swaps meanwhile can lead the copy to host files. FIFOs, sockets and devices inside a directory are left
     * out, never opened; as {@code source} itself they are
     * refused. Each file is copied as large as it was when opened (a {@code /proc}-like file, whose size says 0,
     * up to 64 MiB); files are created with mode 0755 when executable by anyone in the environment, else 0644,
     * directories with 0755 (less the umask). A copy that fails midway leaves what it copied so far. Rootless, the
     * helper reads each file in chunks of 4 MiB, one request each, so that other environments' requests are served
     * between them however large the file: the file is copied up to the size the first chunk saw, each chunk as it
     * was when read (a file the environment changes meanwhile may be copied as a mix of its versions; one that
     * shrinks, up to where it ended).
     *
     * <p>Nothing on the host is ever replaced: {@code hostTarget} must not exist, and whatever is there (a file,
     * directory, symlink, even a dangling one, or FIFO) is refused and left byte for byte as it was; each file is
     * created with {@code O_CREAT|O_EXCL|O_NOFOLLOW}, so a symlink at the target is never followed, not even one
     * planted after the check. The parent directory of {@code hostTarget} must exist.
     *
     * @param source the absolute path inside the environment
     * @param hostTarget the host path, which must not exist yet
     * @throws java.io.UncheckedIOException naming the path that could not be copied; when {@code hostTarget}
     *     exists, with a {@link java.nio.file.FileAlreadyExistsException} as cause and the message {@code Cannot
     *     copy /out out of the environment to /host/out: it already exists on the host; copyOut never replaces
     *     anything there: delete it first or choose a path that does not exist}
     */
    void copyOut(String source, Path hostTarget);

    /**
     * Makes a TCP port of the environment reachable from the JVM, like Testcontainers' {@code getMappedPort}: the
     * helper listens on a free port of the host's loopback interface and relays each connection into the
     * environment's network namespace, to {@code 127.0.0.1:port} there (only loopback addresses are involved on
     * either side): a server inside that listens on {@code 0.0.0.0} or {@code 127.0.0.1} is reached, one bound only to
     * another address (its {@code eth0} address on a private network, {@code ::1}) is not, and the JVM's connection
     * is closed at once. Without
     * {@link LinuxNamespace#NET} the environment shares the host's network and {@code port} is returned as it is.
     *
     * <pre>{@code
     * env.start("httpd", "-f", "-p", "8080", "-h", "/www");
     * env.awaitPort(8080);
     * URI uri = URI.create("http://127.0.0.1:" + env.mappedPort(8080) + "/");
     * }</pre>
     *
     * @param port the port inside the environment
     * @return the port on {@code 127.0.0.1} of the host, the same one at every call for {@code port}; the mapping
     *     lives as long as the environment
     * @throws IllegalArgumentException when {@code port} is not 1..65535 ({@code mappedPort(0): a TCP port is
     *     1..65535})
     */
    int mappedPort(int port);

    /** The name under which an environment reaches the host's ports exposed by {@link #exposeHostPort(int)}. */
    String HOST_ALIAS = "host.isolated.internal";

    /**
     * Makes a TCP server of the host's loopback reachable from inside the environment, the reverse of
     * {@link #mappedPort(int)} (like Testcontainers' {@code exposeHostPorts}): {@code host.isolated.internal:port}
     * inside reaches {@code 127.0.0.1:port} of the host, e.g. a mock server the test runs in the JVM. The helper
     * listens inside the environment's network namespace on {@code 127.213.0.1:port} (an address of its own
     * {@code lo}, which {@code /etc/hosts} names {@value #HOST_ALIAS}) and relays each connection to the host's
     * {@code 127.0.0.1:port}. Only ports so exposed are reached: the environment keeps {@link LinuxNamespace#NET} and no
     * route to the host. Without {@link LinuxNamespace#NET} the environment already shares the host's network, and
     * {@value #HOST_ALIAS} names {@code 127.0.0.1}. Exposing a port twice is a no-op; the relay lives as long as the
     * environment.
     *
     * <pre>{@code
     * HttpServer mock = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
     * ...
     * env.exposeHostPort(mock.getAddress().getPort());
     * env.exec("wget", "-qO-", "http://host.isolated.internal:" + mock.getAddress().getPort() + "/");
     * }</pre>
     *
     * @param port the port on the host's {@code 127.0.0.1}, the same port inside
     * @throws IllegalArgumentException when {@code port} is not 1..65535
     * @throws EnvironmentSetupException at stage {@code forward} when the helper cannot listen inside, e.g. a
     *     server of the environment holds that port on {@code 0.0.0.0} already
     * @throws IllegalStateException when the environment is closed, or when {@code /etc/hosts} cannot be written
     *     (a read-only rootfs): the port is relayed all the same, on {@code 127.213.0.1}, as the message says
     */
    void exposeHostPort(int port);

    /**
     * Waits until a path exists in the environment, up to the await timeout ({@code isolated.await.timeout}). It
     * looks as root inside would (see {@link #readString}): a path in another user's 0700 directory counts too, and a
     * symlink at the path counts even when what it names does not exist.
     *
     * @param path an absolute path inside the environment
     * @throws AwaitTimeoutException when it does not appear in time
     * @throws IsolatedException at once when the thread is interrupted ({@code Interrupted while waiting for PATH to
     *     appear in ...}), its interrupt status kept
     */
    void awaitFile(String path);

    /**
     * Waits until a TCP port is listening in the environment's network namespace (on any address), up to
     * the await timeout. The helper's listeners of {@link #exposeHostPort(int)} (on {@code 127.213.0.1}) do not
     * count: their ports are the host's.
     *
     * @param port the port number
     * @throws AwaitTimeoutException listing the ports that do listen, when it does not
     * @throws IsolatedException at once when the thread is interrupted ({@code Interrupted while waiting for TCP port
     *     PORT to listen in ...}), its interrupt status kept
     */
    void awaitPort(int port);

    /**
     * Freezes this environment's root filesystem as it is now: every process in it but its init is stopped
     * (SIGTERM, then SIGKILL to what is still running 10 s later: stop a service cleanly first, e.g.
     * {@code pg_ctl stop}, for its files to be consistent), then its writable layer (not {@code /tmp},
     * {@code /dev/shm}, {@link Tmpfs} mounts or binds, mounted over the root) is copied to a host directory
     * that environments started with {@link IsolatedEnvironmentBuilder#from(FrozenState)} use, read-only, under
     * a writable layer of their own (commands of {@link #execAsPid1}, in PID namespaces of their own, are not
     * found and keep running: what they write during the copy may or may not be in the state). The copy keeps
     * modes, owners, times, FIFOs, symlinks, deleted files and replaced directories; hard links become separate
     * files, and sockets, device nodes and extended attributes other than overlayfs's opaque marks (ACLs, file
     * capabilities) are left out. This environment stays open, its processes stopped. Other threads may use it
     * meanwhile: a command of theirs that runs is stopped with the rest; one whose start is under way finishes
     * starting first and is stopped likewise, or waits, as every command they start during the freeze does, until
     * the freeze has finished (none fails to start; an interrupt ends that wait with an {@link IsolatedException},
     * {@code Interrupted while waiting for freeze() to finish before starting [COMMAND]; it was not started}); a
     * {@link #processBuilder} process is not held back. Rootless the copy is made with the user's permissions: with
     * {@link UserMapping#SUBIDS} what other users than root wrote inside belongs to root in the state, and a file
     * the user cannot read fails the freeze. Needs
     * {@link LinuxNamespace#PID} (to find every process) and an overlay root (the default). A state is at most 8
     * layers deep: an environment made from a state of 8 layers cannot be frozen.
     *
     * @param key what the state was made from, e.g. a hash of the migration files (see {@link FrozenState#cached})
     * @return the frozen state; its copy lives until the JVM exits
     * @throws IllegalStateException when the environment has no PID namespace or no overlay root, or starts from a
     *     state of 8 layers (before anything is stopped)
     * @throws IsolatedException when the thread is interrupted, its interrupt status kept: {@code Interrupted while
     *     freeze() waited for the commands other threads are starting; nothing was stopped}, later {@code Interrupted
     *     while freeze() waited for the environment's processes to stop} or {@code Interrupted while freeze() copied
     *     the writable layer}
     */
    default FrozenState freeze(String key) {
        return FrozenState.freeze(this, key);
    }

    /** {@return {@link #freeze(String)} with an empty key} */
    default FrozenState freeze() {
        return freeze("");
    }

    /**
     * Kills every process in the environment and removes everything it mounted and wrote. Harmless when
     * called again. Its processes have then exited ({@link IsolatedProcess#waitFor} of one that still ran returns
     * exit code 137, signal 9). From then on every method that runs something in the environment or looks into it
     * ({@code exec}, {@code start}, {@code execAsPid1}, the commands of {@link #enter}, {@link #processBuilder},
     * {@link #processes()}, {@link #mounts()}, {@link #hostname()}, {@link #setHostname}, the files, the
     * {@code await...} methods, {@link #mappedPort}, {@link #exposeHostPort}, {@link #resourceUsage()},
     * {@link #freeze(String)}) throws an {@link IllegalStateException} at once: {@code This isolated environment is
     * closed: close() was called, or the extension closed it when its test (with Lifecycle.PER_CLASS, its class)
     * ended}. What it was made with ({@link #namespaces()}, {@link #initHostPid()}, {@link #imageConfig()}) stays.
     *
     * <p>Another thread may close it while one waits in it: an {@code exec} then returns exit code 137,
     * {@link IsolatedProcess#awaitOutput} throws its {@link IllegalStateException} for a process that exited, and
     * {@code awaitPort}, {@code awaitFile} that of a closed environment. A close that finds another one under way
     * returns once that one has; a close on an interrupted thread closes all the same, the interrupt status kept.
     *
     * @throws EnvironmentCleanupException listing every leftover when something could not be cleaned up
     */
    @Override
    void close();
}
