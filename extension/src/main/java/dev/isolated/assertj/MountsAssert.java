package dev.isolated.assertj;

import static org.apiguardian.api.API.Status.STABLE;

import dev.isolated.MountInfo;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.apiguardian.api.API;
import org.assertj.core.api.AbstractAssert;
import org.assertj.core.api.Assertions;
import org.assertj.core.api.ListAssert;

/**
 * Assertions on a mount table, as {@code /proc/self/mountinfo} lists it. Failure messages list every mount.
 *
 * @since 0.1
 */
@API(status = STABLE, since = "0.1")
public final class MountsAssert extends AbstractAssert<MountsAssert, List<MountInfo>> {

    /**
     * Creates assertions on a mount table.
     *
     * @param actual the mount table under test
     */
    public MountsAssert(List<MountInfo> actual) {
        super(actual, MountsAssert.class);
    }

    /**
     * Verifies that something is mounted at {@code mountPoint}.
     *
     * @param mountPoint an absolute path as seen in the environment
     * @return this assertion
     */
    public MountsAssert containsMountPoint(String mountPoint) {
        isNotNull();
        if (find(mountPoint).isEmpty()) {
            failWithMessage("Expected a mount at %s but the mounts are:%n%s", mountPoint, table());
        }
        return this;
    }

    /**
     * Verifies that a filesystem of type {@code fsType} is mounted at {@code mountPoint} (the last one
     * mounted there, the one that is visible).
     *
     * @param mountPoint an absolute path as seen in the environment
     * @param fsType a filesystem type such as {@code tmpfs}, {@code proc}, {@code overlay}
     * @return this assertion
     */
    public MountsAssert containsMount(String mountPoint, String fsType) {
        containsMountPoint(mountPoint);
        String actualType = find(mountPoint).get().fsType();
        if (!actualType.equals(fsType)) {
            failWithMessage(
                    "Expected %s to be mounted at %s but it is %s; the mounts are:%n%s",
                    fsType, mountPoint, actualType, table());
        }
        return this;
    }

    /**
     * Verifies that nothing is mounted at {@code mountPoint}.
     *
     * @param mountPoint an absolute path
     * @return this assertion
     */
    public MountsAssert doesNotContainMountPoint(String mountPoint) {
        isNotNull();
        if (find(mountPoint).isPresent()) {
            failWithMessage(
                    "Expected no mount at %s but found %s; the mounts are:%n%s",
                    mountPoint, find(mountPoint).get(), table());
        }
        return this;
    }

    /** {@return assertions on the list of mount points, in mount order} */
    public ListAssert<String> mountPoints() {
        isNotNull();
        return Assertions.assertThat(actual.stream().map(MountInfo::mountPoint).collect(Collectors.toList()))
                .as("mount points");
    }

    private Optional<MountInfo> find(String mountPoint) {
        MountInfo last = null;
        for (MountInfo m : actual) {
            if (m.mountPoint().equals(mountPoint)) {
                last = m;
            }
        }
        return Optional.ofNullable(last);
    }

    private String table() {
        return actual.stream()
                .map(m -> "  " + m.mountPoint() + " " + m.fsType() + " " + m.source() + " " + m.options())
                .collect(Collectors.joining(System.lineSeparator()));
    }
}
