/**
 * Isolated: hermetic integration tests on Linux, from JUnit 5.
 *
 * <p>Annotate a test class or method with {@link dev.isolated.Isolated} and take an
 * {@link dev.isolated.IsolatedEnvironment} parameter: each test gets an environment of its own, an image's rootfs
 * entered with {@code pivot_root} inside freshly unshared namespaces, in which
 * {@link dev.isolated.IsolatedEnvironment#exec(String...)} runs commands. {@link dev.isolated.Bind},
 * {@link dev.isolated.Tmpfs}, {@link dev.isolated.Limits} and {@link dev.isolated.ClockOffsets} add mounts, limits and
 * clock offsets; {@link dev.isolated.StartImageCommand} (or
 * {@link dev.isolated.IsolatedEnvironment#startImageCommand(Wait, String...)}) starts the image's own command as a
 * service and waits until it is ready ({@link dev.isolated.Wait});
 * {@link dev.isolated.IsolatedEnvironment#builder()} makes environments in code;
 * {@link dev.isolated.HostSupport} tells what the host allows. Assertions are in {@code dev.isolated.assertj},
 * image building in {@code dev.isolated.image}. Everything under {@code dev.isolated.internal} is not API.
 */
package dev.isolated;
