package dev.isolated.internal.registry;

import dev.isolated.internal.image.RuntimePlatform;
import dev.isolated.internal.image.SettingNames;
import java.util.Locale;

/**
 * The platform a pulled image must be for: the manifest an image index resolves to, and what a single-platform
 * image's config must name. {@code linux} and this JVM's architecture, unless {@code isolated.image.platform}
 * says otherwise.
 *
 * @param architecture the OCI architecture ({@code amd64}, {@code arm64}, {@code arm}, ...)
 * @param variant the OCI variant ({@code v7}), or empty for none; {@code arm64}'s {@code v8} is none
 */
public record ImagePlatform(String architecture, String variant) {

    /** {@code linux} and this JVM's architecture ({@code os.arch}). */
    public static ImagePlatform current() {
        return new ImagePlatform(RuntimePlatform.architecture(), "");
    }

    /**
     * Reads {@code linux/<architecture>[/<variant>]}; {@code x86_64} is {@code amd64}, {@code aarch64} is
     * {@code arm64}.
     *
     * @throws IllegalArgumentException naming {@link SettingNames#IMAGE_PLATFORM} if it is not a platform
     */
    public static ImagePlatform parse(String text) {
        String[] parts = text.trim().toLowerCase(Locale.ROOT).split("/", -1);
        if (parts.length < 2
                || parts.length > 3
                || !parts[0].equals("linux")
                || !parts[1].matches("[a-z0-9_]+")
                || (parts.length == 3 && !parts[2].matches("[a-z0-9]+"))) {
            throw new IllegalArgumentException(
                    SettingNames.IMAGE_PLATFORM + "=" + text + " is not valid: write "
                            + "linux/<architecture>[/<variant>], e.g. linux/arm64 or linux/arm/v7 (the environments run Linux only)");
        }
        return of(parts[1], parts.length == 3 ? parts[2] : "");
    }

    /** The platform of an OCI {@code architecture} and {@code variant}, both normalized. */
    static ImagePlatform of(String architecture, String variant) {
        String arch = switch (architecture.toLowerCase(Locale.ROOT)) {
            case "x86_64", "x86-64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> architecture.toLowerCase(Locale.ROOT);
        };
        String normalizedVariant = variant.toLowerCase(Locale.ROOT);
        if (arch.equals("arm64") && (normalizedVariant.equals("v8") || normalizedVariant.equals("8"))) {
            normalizedVariant = "";
        }
        return new ImagePlatform(arch, normalizedVariant);
    }

    /** {@code linux/arm64}, {@code linux/arm/v7}. */
    @Override
    public String toString() {
        return "linux/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
    }
}
