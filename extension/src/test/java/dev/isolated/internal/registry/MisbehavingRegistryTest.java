package dev.isolated.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.isolated.internal.image.TestImages;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Registries that lie or dawdle, played by {@link FakeRegistry}. */
@DisplayName("a registry that misbehaves")
class MisbehavingRegistryTest {

    @TempDir
    Path dir;

    private ImagePuller puller(FakeRegistry registry) {
        ImagePuller.forgetResolvedTags();
        Map<String, String> keys = Map.of("isolated.registry.insecure", registry.host());
        return new ImagePuller(dir.resolve("cache"), PullSettings.from(key -> Optional.ofNullable(keys.get(key)),
                name -> name.equals("DOCKER_CONFIG") ? dir.toString() : null));
    }

    private FakeRegistry registry() throws Exception {
        return new FakeRegistry(TestOci.layout(dir.resolve("oci"), "amd64", "{}",
                TestImages.layer(List.of("etc"), Map.of("etc/fake", "fake\n"))));
    }

    @Test
    @DisplayName("a Docker-Content-Digest that is not the manifest's: refused, nothing stored")
    void wrongDigestHeader() throws Exception {
        try (FakeRegistry registry = registry()) {
            String wrong = "sha256:" + "0".repeat(64);
            registry.digestHeader = digest -> wrong;
            String name = registry.host() + "/app:1";
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name + ": its manifest from " + registry.host() + " does not match its digest: the "
                            + "registry says " + wrong + ", its content hashes to " + registry.manifestDigest()
                            + "; nothing was stored");
            assertThat(dir.resolve("cache/blobs/sha256")).isEmptyDirectory();
        }
    }

    @Test
    @DisplayName("a manifest over 4 MiB is refused without reading it all")
    void hugeManifest() throws Exception {
        try (FakeRegistry registry = registry()) {
            registry.manifestBody = manifest -> {
                byte[] huge = new byte[5 * 1024 * 1024];
                Arrays.fill(huge, (byte) ' ');
                System.arraycopy(manifest, 0, huge, 0, manifest.length);
                return huge;
            };
            String name = registry.host() + "/app:1";
            assertThatThrownBy(() -> puller(registry).pull(name))
                    .isInstanceOf(ImagePullException.class)
                    .hasMessage("Image " + name + ": its manifest from " + registry.host() + " has 5242880 bytes, more than the "
                            + "4194304 a manifest may have");
        }
    }

    @Test
    @DisplayName("a pull longer than a second logs its progress (bytes and blobs) at INFO")
    void progress() throws Exception {
        List<String> messages = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.INFO.intValue()) {
                    synchronized (messages) {
                        messages.add(record.getMessage());
                    }
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger logger = Logger.getLogger(ImagePuller.class.getName());
        logger.addHandler(handler);
        try (FakeRegistry registry = registry()) {
            registry.blobPauseMillis = 1200;
            String name = registry.host() + "/app:1";
            puller(registry).pull(name);
            assertThat(messages).anyMatch(m -> m.matches("Pulling " + name.replace(".", "\\.") + " from " + registry.host()
                    .replace(".", "\\.") + ": [0-9.]+ of [0-9.]+ MiB, [0-9] of 2 blobs done"));
            assertThat(messages).anyMatch(m -> m.startsWith("Pulled " + name + " (" + registry.manifestDigest() + ") from "
                    + registry.host() + ": 2 blobs, "));
        }
        finally {
            logger.removeHandler(handler);
        }
    }
}
