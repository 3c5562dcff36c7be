package dev.isolated.internal.env;

import dev.isolated.internal.helper.HelperConnection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Environments built ahead of time, one per kind, so that a test's environment is ready when it asks (opt-in:
 * {@value #PROPERTY}{@code =true}). A spare is made right after an environment of the same kind (same spec but
 * for the hostname, which is set when the spare is taken) and lives, idle, until a test takes it or the JVM
 * exits. Environments on a private network are never kept spare.
 */
final class SpareEnvironments {
    /** System property or configuration parameter that turns spares on. */
    static final String PROPERTY = "isolated.prewarm";
    private static final int MAX_KINDS = 4;

    private static final Map<EnvironmentSpec, Environment> SPARES = new LinkedHashMap<>();
    private static final ExecutorService BUILDER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "isolated-spare-builder");
        t.setDaemon(true);
        return t;
    });

    private SpareEnvironments() {
    }

    static boolean applies(EnvironmentSpec spec) {
        return Boolean.getBoolean(PROPERTY) && spec.options().network().isEmpty();
    }

    /** @return a spare of this kind, or null; the caller gives it its hostname */
    static synchronized Environment take(HelperConnection helper, EnvironmentSpec spec) {
        Environment spare = SPARES.remove(kind(spec));
        return spare != null && spare.usableWith(helper) ? spare : null;
    }

    /** Builds a spare of this kind in the background, unless one is there. */
    static void refill(HelperConnection helper, EnvironmentSpec spec) {
        EnvironmentSpec kind = kind(spec);
        synchronized (SpareEnvironments.class) {
            if (SPARES.containsKey(kind)) {
                return;
            }
        }
        BUILDER.execute(() -> {
            Environment spare;
            try {
                spare = Environment.createNow(helper, kind);
            } catch (RuntimeException e) {
                return; // the test that needs one will create it itself, and report the failure
            }
            Environment evicted = null;
            synchronized (SpareEnvironments.class) {
                if (SPARES.containsKey(kind)) {
                    evicted = spare;
                } else {
                    SPARES.put(kind, spare);
                    if (SPARES.size() > MAX_KINDS) {
                        EnvironmentSpec oldest = SPARES.keySet().iterator().next();
                        evicted = SPARES.remove(oldest);
                    }
                }
            }
            if (evicted != null) {
                evicted.close();
            }
        });
    }

    /** Closes every spare (they are otherwise closed when the JVM's helper goes away). */
    static void closeAll() {
        java.util.List<Environment> all;
        synchronized (SpareEnvironments.class) {
            all = new java.util.ArrayList<>(SPARES.values());
            SPARES.clear();
        }
        all.forEach(Environment::close);
    }

    private static EnvironmentSpec kind(EnvironmentSpec spec) {
        return new EnvironmentSpec(spec.rootfs(), spec.namespaces(), "", spec.execTimeout(), spec.awaitTimeout(),
                spec.env(), spec.workingDirectory(), spec.mounts(), spec.readOnlyRootfs(), spec.options());
    }
}
