package dev.isolated;

import static org.apiguardian.api.API.Status.EXPERIMENTAL;

import dev.isolated.internal.env.Environment;
import dev.isolated.internal.env.FrozenLayer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.logging.Logger;
import org.apiguardian.api.API;

/**
 * The root filesystem of an environment at the moment it was frozen ({@link IsolatedEnvironment#freeze(String)}):
 * its image plus a copy of its writable layer, kept read-only on the host (not what was written to {@code /tmp},
 * {@code /dev/shm}, {@link Tmpfs} mounts or {@link Bind}s, which are mounted over the root and not in the layer).
 * Each environment started from it
 * ({@link IsolatedEnvironmentBuilder#from(FrozenState)}, {@link WritableLayer#frozen()}) sees that state through
 * a writable layer of its own: what one writes or deletes is seen by no other, nor by the state.
 *
 * <p>Typical use: a database initialised once (say {@code initdb} and the schema migrations), a fresh copy per
 * test:
 *
 * <pre>{@code
 * static final FrozenState DB = FrozenState.cached("migrated-db", hashOf(migrations), () -> {
 *     IsolatedEnvironment env = IsolatedEnvironment.builder().rootfs("postgres.tar").start();
 *     env.exec("sh", "-c", "initdb -D /data && pg_ctl -D /data start -w && psql -f /migrations.sql && pg_ctl -D /data stop");
 *     return env;   // frozen and closed by cached()
 * });
 *
 * @Test
 * void test() {
 *     try (IsolatedEnvironment db = IsolatedEnvironment.builder().from(DB).start()) { ... }
 * }
 * }</pre>
 *
 * <p>The copy is made in {@value IsolatedConfiguration#LAYER_DIR} and lives until the JVM exits (a JVM killed
 * by SIGKILL leaves it behind; the next JVM that uses that directory removes it); nothing else may change it
 * meanwhile, and a state whose copy was removed is refused by {@link IsolatedEnvironmentBuilder#from(FrozenState)}. A state made by
 * {@link #cached} is shared by every class of the JVM that asks for the same name and key.
 *
 * @since 0.1
 */
@API(status = EXPERIMENTAL, since = "0.1")
public final class FrozenState {
    private static final Logger LOG = Logger.getLogger(FrozenState.class.getName());
    private static final Map<String, FrozenState> BY_NAME = new HashMap<>();
    private static final Map<String, Object> LOCKS = new HashMap<>();

    private final String name;
    private final String key;
    private final FrozenLayer layer;
    private volatile String replacedBy;

    private FrozenState(String name, String key, FrozenLayer layer) {
        this.name = name;
        this.key = key;
        this.layer = layer;
    }

    /** {@link IsolatedEnvironment#freeze(String)}. */
    static FrozenState freeze(IsolatedEnvironment env, String key) {
        Objects.requireNonNull(key, "key");
        if (!(env instanceof Environment environment)) {
            throw new UnsupportedOperationException("freeze() needs an environment made by Isolated, not " + env);
        }
        return new FrozenState("", key, environment.freezeLayer());
    }

    /**
     * The state named {@code name} in this JVM, made once by {@code setup} and then frozen: the first call for a
     * name (and every call whose {@code key} differs from the one the state was made with) runs {@code setup},
     * freezes the environment it returns with {@code key}, closes it, and keeps the state under {@code name};
     * later calls with the same name and key return it at once. Calls for one name wait for each other.
     *
     * <p>The key names the state's inputs besides the image, e.g. a hash of the schema migration files: when it
     * changes the state is stale, and it is made anew (logged as {@code frozen state NAME is stale: made for key
     * OLD, now NEW; making it anew}); the stale one's {@link #isStale()} is then true and
     * {@link IsolatedEnvironmentBuilder#from(FrozenState)} refuses it. The environments already started from it
     * keep it until the JVM exits.
     *
     * @param name the state's name in this JVM, as {@link WritableLayer#frozen()} gives it
     * @param key what the state was made from (compared as a string)
     * @param setup makes a started environment in the state to freeze (its processes are stopped by the freeze)
     * @return the state
     * @throws IllegalArgumentException when {@code name} is empty: {@code A frozen state's name must not be empty}
     */
    public static FrozenState cached(String name, String key, Supplier<IsolatedEnvironment> setup) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(setup, "setup");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("A frozen state's name must not be empty");
        }
        Object lock;
        synchronized (LOCKS) {
            lock = LOCKS.computeIfAbsent(name, n -> new Object());
        }
        synchronized (lock) {
            FrozenState existing;
            synchronized (BY_NAME) {
                existing = BY_NAME.get(name);
            }
            if (existing != null && existing.key.equals(key)) {
                return existing;
            }
            if (existing != null) {
                LOG.warning("[isolated] frozen state " + name + " is stale: made for key " + existing.key + ", now "
                        + key + "; making it anew");
            }
            FrozenState made;
            try (IsolatedEnvironment env =
                    Objects.requireNonNull(setup.get(), "the setup of frozen state " + name + " returned null")) {
                made = new FrozenState(name, key, freeze(env, key).layer);
            }
            synchronized (BY_NAME) {
                BY_NAME.put(name, made);
            }
            if (existing != null) {
                existing.replacedBy = key;
            }
            return made;
        }
    }

    /**
     * Looks up a state made by {@link #cached} by its name.
     *
     * @param name a name given to {@link #cached}
     * @return the current state of that name in this JVM, if one was made
     */
    public static Optional<FrozenState> named(String name) {
        synchronized (BY_NAME) {
            return Optional.ofNullable(BY_NAME.get(name));
        }
    }

    /** {@return the name given to {@link #cached}; empty for a state of {@link IsolatedEnvironment#freeze(String)}} */
    public String name() {
        return name;
    }

    /** {@return the key the state was made with} */
    public String key() {
        return key;
    }

    /** {@return the unpacked image the frozen environment ran on, which environments made from it use} */
    public Path rootfs() {
        return layer.rootfs();
    }

    /**
     * A pool of environments started from this state, {@code ready} of them kept started before the tests ask
     * (see {@link EnvironmentPool}): each is {@code IsolatedEnvironment.builder().from(this)}, configured by
     * {@code configure} (typically to start the service and wait until it is ready), then started.
     *
     * <pre>{@code
     * static final EnvironmentPool DATABASES = DB.pool(2, db -> db.startImageCommand(Wait.forLogLine(READY)));
     *
     * try (IsolatedEnvironment db = DATABASES.take()) { ... }   // in each test: its own fresh, ready copy
     * }</pre>
     *
     * @param ready how many started environments to keep waiting, at least 1
     * @param configure sets up the builder (already {@code from(this)}) and returns it
     * @return the pool, starting its environments at once; close it (or let the JVM's exit close them)
     * @throws IllegalArgumentException when {@code ready} is below 1
     * @throws IllegalStateException when the state is stale
     */
    public EnvironmentPool pool(int ready, UnaryOperator<IsolatedEnvironmentBuilder> configure) {
        Objects.requireNonNull(configure, "configure");
        if (ready < 1) {
            throw new IllegalArgumentException("FrozenState.pool(" + ready + ", ...): ready must be at least 1");
        }
        layerForUse();
        return EnvironmentPool.of(
                ready,
                () -> Objects.requireNonNull(
                                configure.apply(IsolatedEnvironment.builder().from(this)),
                                "pool(..., configure): configure returned null")
                        .start());
    }

    /**
     * {@return whether {@link #cached} made the state of this name anew for another key since this one was made}
     */
    public boolean isStale() {
        return replacedBy != null;
    }

    /** The layers, checked not stale and still on the host, for the builder. */
    FrozenLayer layerForUse() {
        String newer = replacedBy;
        if (newer != null) {
            throw new IllegalStateException("The frozen state " + name + " is stale: it was made for key " + key
                    + ", and FrozenState.cached(\"" + name + "\", ...) made it anew for key " + newer
                    + "; use the state that call returned (or FrozenState.named(\"" + name + "\"))");
        }
        for (Path copy : layer.layers()) {
            if (!Files.isDirectory(copy, LinkOption.NOFOLLOW_LINKS)) {
                throw new IllegalStateException("The frozen state "
                        + (name.isEmpty() ? "made by freeze(\"" + key + "\")" : name)
                        + " is gone from the host: its copy " + copy
                        + " was removed while this JVM used it (the copies in " + IsolatedConfiguration.LAYER_DIR
                        + " live until the JVM exits; nothing else may change them); freeze the environment again");
            }
        }
        return layer;
    }

    @Override
    public String toString() {
        return "FrozenState[" + (name.isEmpty() ? "" : name + ", ") + "key " + key + ", image " + layer.rootfs()
                + (isStale() ? ", stale" : "") + "]";
    }
}
