package dev.isolated.internal.shard;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.function.Function;
import org.junit.platform.launcher.LauncherDiscoveryListener;
import org.junit.platform.launcher.LauncherDiscoveryRequest;

/**
 * Hands each discovery's configuration parameters to {@link ShardFilter}, which the launcher gives none: a
 * launcher service ({@code META-INF/services}), as the filter is. Discovery runs on the thread that asked for it,
 * so the parameters are kept per thread, for the length of the discovery.
 */
public final class ShardDiscoveryListener implements LauncherDiscoveryListener {
    private static final ThreadLocal<Deque<Discovery>> DISCOVERIES = new ThreadLocal<>();

    /** Public for {@link java.util.ServiceLoader}. */
    public ShardDiscoveryListener() {}

    @Override
    public void launcherDiscoveryStarted(LauncherDiscoveryRequest request) {
        Deque<Discovery> discoveries = DISCOVERIES.get();
        if (discoveries == null) {
            discoveries = new ArrayDeque<>();
            DISCOVERIES.set(discoveries);
        }
        discoveries.push(new Discovery(request.getConfigurationParameters()::get));
    }

    @Override
    public void launcherDiscoveryFinished(LauncherDiscoveryRequest request) {
        Deque<Discovery> discoveries = DISCOVERIES.get();
        if (discoveries == null) {
            return;
        }
        discoveries.poll();
        if (discoveries.isEmpty()) {
            DISCOVERIES.remove();
        }
    }

    /** The discovery under way on this thread, if this listener saw it start. */
    static Optional<Discovery> current() {
        Deque<Discovery> discoveries = DISCOVERIES.get();
        return discoveries == null ? Optional.empty() : Optional.ofNullable(discoveries.peek());
    }

    /** One discovery's configuration and, once asked for, its plan. */
    static final class Discovery {
        private final Function<String, Optional<String>> configuration;
        private Optional<ShardPlan> plan;

        Discovery(Function<String, Optional<String>> configuration) {
            this.configuration = configuration;
        }

        Optional<ShardPlan> plan() {
            if (plan == null) {
                plan = ShardPlan.of(configuration, System::getenv);
            }
            return plan;
        }
    }
}
