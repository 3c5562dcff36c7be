package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.apiguardian.api.API;

/**
 * A private network between environments, as an object: environments join it with
 * {@link IsolatedEnvironmentBuilder#network(IsolatedNetwork, String...)} (or {@link OnNetwork} on an
 * {@code @Isolated} parameter), reach each other by hostname and by the aliases they joined with, and nothing
 * else (see {@link IsolatedEnvironmentBuilder#network(String)} for what a private network is).
 *
 * <p>{@link #newNetwork()} makes a network of its own with a generated name, which no other network of the JVM
 * has, so two tests running in parallel that each make one never share it. {@link #named(String)} is the
 * explicit opt-in to a network shared by name across the JVM.
 *
 * <p>{@link #close()} closes the environments still open that joined through this object, and with the last
 * member the network itself goes. In an {@code @Isolated} test class the extension closes it for you, as JUnit's
 * {@code @TempDir}: an {@code IsolatedNetwork} test method parameter after the test, an instance field after the
 * test (after the class with {@code @TestInstance(PER_CLASS)}), a static field after the class (one a superclass
 * declares, which its test subclasses share, after the whole run).
 *
 * <pre>{@code
 * try (IsolatedNetwork net = IsolatedNetwork.newNetwork();
 *         IsolatedEnvironment db = IsolatedEnvironment.builder().rootfs("busybox.tar").network(net, "db").start();
 *         IsolatedEnvironment app = IsolatedEnvironment.builder().rootfs("busybox.tar").network(net).start()) {
 *     db.start("httpd", "-f", "-p", "8080", "-h", "/www");
 *     db.awaitPort(8080);
 *     app.exec("wget", "-qO-", "http://db:8080/");
 * }
 * }</pre>
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class IsolatedNetwork implements AutoCloseable {
    /** How generated names start; explicit names may not, so that they never meet a generated one. */
    public static final String GENERATED_PREFIX = "isolated-";
    /** The longest network name, as the helper's interface names allow. */
    public static final int MAX_NAME_LENGTH = 15;

    private static final Pattern NAME = Pattern.compile("[a-z0-9-]{1," + MAX_NAME_LENGTH + "}");
    private static final AtomicLong NEXT = new AtomicLong();

    private final String name;
    private final List<IsolatedEnvironment> members = new CopyOnWriteArrayList<>();
    private boolean closed;

    private IsolatedNetwork(String name) {
        this.name = name;
    }

    /**
     * {@return a new network with a generated name ({@value #GENERATED_PREFIX} and a counter), unique in this JVM}
     */
    public static IsolatedNetwork newNetwork() {
        return new IsolatedNetwork(GENERATED_PREFIX + Long.toString(NEXT.getAndIncrement(), 36));
    }

    /**
     * The network of this name, shared by every environment of the JVM that names it, here or through
     * {@link IsolatedEnvironmentBuilder#network(String)}.
     *
     * @param name lower-case letters, digits and dashes, at most {@value #MAX_NAME_LENGTH} characters, not
     *     starting with {@value #GENERATED_PREFIX}
     * @return a handle on it; closing it closes only the members that joined through this handle
     * @throws IllegalArgumentException when the name breaks these rules, naming it and the rule
     */
    public static IsolatedNetwork named(String name) {
        return new IsolatedNetwork(checkName(name));
    }

    static String checkName(String name) {
        Objects.requireNonNull(name);
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("Invalid network name \"" + name + "\": a network name is 1 to "
                    + MAX_NAME_LENGTH + " lower-case letters, digits and dashes");
        }
        if (name.startsWith(GENERATED_PREFIX)) {
            throw new IllegalArgumentException("Invalid network name \"" + name + "\": names starting with \""
                    + GENERATED_PREFIX + "\" are those of IsolatedNetwork.newNetwork(); join such a network with "
                    + "builder.network(IsolatedNetwork), or choose another name");
        }
        return name;
    }

    /** {@return the network's name, also what {@link IsolatedEnvironmentBuilder#network(String)} takes} */
    public String name() {
        return name;
    }

    /** {@return whether {@link #close()} was called} */
    public synchronized boolean isClosed() {
        return closed;
    }

    /** {@return the environments that joined through this object and are not closed yet, in joining order} */
    public List<IsolatedEnvironment> members() {
        members.removeIf(IsolatedNetwork::isClosedEnvironment);
        return List.copyOf(members);
    }

    /** Before a member is created: a closed network takes none. */
    synchronized void checkOpen() {
        if (closed) {
            throw new IllegalStateException("The network " + name + " is closed: it closed with its test or class "
                    + "(or by close()); make a new one, e.g. IsolatedNetwork.newNetwork()");
        }
    }

    /** After a member was created; closes it at once when the network was closed in the meantime. */
    void add(IsolatedEnvironment member) {
        synchronized (this) {
            if (!closed) {
                members.add(member);
                return;
            }
        }
        member.close();
        checkOpen();
    }

    /**
     * Closes the environments still open that joined through this object (each as
     * {@link IsolatedEnvironment#close()} does), newest first; the network goes with its last member. Further
     * joins fail with an {@link IllegalStateException}. Idempotent.
     *
     * @throws EnvironmentCleanupException when closing a member left something behind (the other members are
     *     closed all the same)
     */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
        }
        List<IsolatedEnvironment> open = new ArrayList<>(members);
        members.clear();
        RuntimeException first = null;
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static boolean isClosedEnvironment(IsolatedEnvironment env) {
        return env instanceof dev.isolated.internal.env.Environment e && e.isClosed();
    }

    @Override
    public String toString() {
        return "IsolatedNetwork[" + name + (isClosed() ? ", closed" : "") + "]";
    }
}
