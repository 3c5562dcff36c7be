package dev.isolated.internal.os;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Optional;

/**
 * Whether this JVM grants native access to JNA, which Isolated uses for the few libc calls the JDK lacks. Since
 * Java 24 (JEP 472) loading JNA's native library without {@code --enable-native-access} makes the JDK print a
 * warning that such calls will be blocked in a future release; no library can grant itself that access (the
 * {@code Enable-Native-Access} manifest attribute counts only for the jar started with {@code java -jar}, and
 * {@code ModuleLayer.Controller.enableNativeAccess} is itself restricted). So when the flag is missing, Isolated
 * says once per JVM, on stderr, which flag to add and where the README explains it.
 */
public final class NativeAccess {
    /** The first Java release whose JVM warns about JNI's {@code System::load} without native access. */
    static final int FIRST_WARNING_RELEASE = 24;
    /** The README section that shows the flag in a Maven and a Gradle build. */
    static final String README_SECTION = "Java 24 and later: --enable-native-access";

    private static boolean checked;

    private NativeAccess() {}

    /** Prints {@link #missingFlagMessage} to stderr, at most once per JVM, when there is one. */
    public static void warnOnceIfMissing() {
        synchronized (NativeAccess.class) {
            if (checked) {
                return;
            }
            checked = true;
        }
        int feature = Runtime.version().feature();
        if (feature < FIRST_WARNING_RELEASE) {
            return; // nothing to warn about, so nothing to look up: a fresh JVM's first test need not load JNA's
            // Native class or java.management's MXBeans (about 50 classes) for this
        }
        Module jna = com.sun.jna.Native.class.getModule(); // a class literal: JNA is not initialized by this
        boolean enabled = nativeAccessEnabled(jna);
        missingFlagMessage(feature, enabled, flag(jna), enabled ? List.of() : inputArguments())
                .ifPresent(System.err::println);
    }

    /**
     * @param feature the running Java release, e.g. 25
     * @param enabled whether JNA's module has native access ({@code Module.isNativeAccessEnabled()})
     * @param flag the flag that grants it, see {@link #flag(Module)}
     * @param inputArguments the JVM's arguments, to see an explicit {@code --illegal-native-access=allow}
     * @return the line naming the missing flag, or empty when this JVM does not warn about JNA's native access
     */
    static Optional<String> missingFlagMessage(int feature, boolean enabled, String flag, List<String> inputArguments) {
        if (feature < FIRST_WARNING_RELEASE || enabled || inputArguments.contains("--illegal-native-access=allow")) {
            return Optional.empty();
        }
        return Optional.of("[isolated] Java " + feature + " warns (\"A restricted method in java.lang.System has been "
                + "called\") because JNA, which Isolated uses for libc calls, loads native code and this JVM was started "
                + "without " + flag + ". Add " + flag + " to the test JVM's arguments (Maven: Surefire's <argLine>; "
                + "Gradle: jvmArgs of the test task); see the README section \"" + README_SECTION + "\".");
    }

    /** @return the flag that grants {@code jna} native access */
    static String flag(Module jna) {
        return "--enable-native-access=" + (jna.isNamed() ? jna.getName() : "ALL-UNNAMED");
    }

    /** {@code Module.isNativeAccessEnabled()} exists since Java 22; this code is compiled for 17. */
    private static boolean nativeAccessEnabled(Module module) {
        try {
            return (Boolean) Module.class.getMethod("isNativeAccessEnabled").invoke(module);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return true; // no such notion on this JVM: nothing to warn about
        }
    }

    private static List<String> inputArguments() {
        try {
            return ManagementFactory.getRuntimeMXBean().getInputArguments();
        } catch (RuntimeException | LinkageError e) {
            return List.of(); // java.management left out of a custom runtime
        }
    }
}
