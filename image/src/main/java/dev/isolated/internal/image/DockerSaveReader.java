package dev.isolated.internal.image;

import dev.isolated.image.ImageConfig;
import dev.isolated.internal.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Reads the image a {@code docker save} archive holds, through its {@code manifest.json}: an array of
 * {@code {"Config": ..., "RepoTags": [...], "Layers": [...]}}. Works for the legacy layout
 * ({@code <id>/layer.tar}, config {@code <hex>.json}) and for Docker 25 and later, whose paths point
 * into {@code blobs/sha256/}.
 *
 * <p>Verified: the config against the digest its file name promises; each layer against the digest
 * its {@code blobs/sha256/<hex>} name promises or, for legacy {@code layer.tar} files (always
 * uncompressed), against the config's {@code rootfs.diff_ids}.
 */
final class DockerSaveReader {

    private static final String MANIFEST = "manifest.json";

    private DockerSaveReader() {}

    /**
     * @param reference the wanted tag, or {@code null} for the only image
     * @param image the image's name for messages
     */
    static LayeredImage read(LayoutDirectory layout, String reference, String image) {
        String source = MANIFEST + " of image " + image;
        List<JsonObject> entries = JsonObject.parseArray(layout.readJson(MANIFEST, null, MANIFEST), source);
        if (entries.isEmpty()) {
            throw new ImageUnpackException("Image " + image + ": its " + MANIFEST + " lists no images");
        }
        JsonObject chosen = choose(entries, reference, image);
        String configPath = chosen.string("Config");
        String configText = layout.readJson(configPath, BlobPaths.digestNamedBy(configPath), "config");
        JsonObject config = JsonObject.parse(configText, "config '" + configPath + "' of image " + image);
        ImageConfig runDefaults = ImageConfigJson.read(config);
        List<String> diffIds = ImageConfigJson.diffIds(config);
        List<String> layerPaths = chosen.optionalStrings("Layers");
        if (layerPaths == null || layerPaths.isEmpty()) {
            throw new ImageUnpackException(
                    "Image " + image + ": " + chosen.source() + " lists no layers for " + chosen.path());
        }
        List<LayeredImage.Layer> layers = new ArrayList<>();
        for (int i = 0; i < layerPaths.size(); i++) {
            String path = layerPaths.get(i);
            String digest = BlobPaths.digestNamedBy(path);
            if (digest == null && diffIds.size() == layerPaths.size()) {
                digest = diffIds.get(i);
                BlobPaths.checkDigest(
                        digest, "config '" + configPath + "' of image " + image + ": rootfs.diff_ids[" + i + "]");
            }
            if (digest == null) {
                throw new ImageUnpackException("Image " + image + ": layer '" + path + "' cannot be verified: its name "
                        + "holds no digest and the config lists " + diffIds.size() + " diff_ids for "
                        + layerPaths.size()
                        + " layers");
            }
            layers.add(new LayeredImage.Layer(
                    path,
                    digest,
                    "layer " + (i + 1) + " of " + layerPaths.size() + " (" + path + ")",
                    DiffIds.at(diffIds, i, layerPaths.size())));
        }
        return new LayeredImage(runDefaults, layers);
    }

    private static JsonObject choose(List<JsonObject> entries, String reference, String image) {
        if (reference == null) {
            if (entries.size() == 1) {
                return entries.get(0);
            }
            throw new ImageUnpackException("Image " + image + " holds " + entries.size() + " images; choose one by "
                    + "tag with '" + image + "#TAG'. Its tags: " + allTags(entries));
        }
        for (JsonObject entry : entries) {
            List<String> tags = entry.optionalStrings("RepoTags");
            if (tags != null && tags.stream().anyMatch(tag -> ImageReference.matches(reference, tag))) {
                return entry;
            }
        }
        throw new ImageUnpackException(
                "Image " + image + " holds no image tagged '" + reference + "'. Its tags: " + allTags(entries));
    }

    private static String allTags(List<JsonObject> entries) {
        List<String> tags = new ArrayList<>();
        int untagged = 0;
        for (JsonObject entry : entries) {
            List<String> repoTags = entry.optionalStrings("RepoTags");
            if (repoTags == null || repoTags.isEmpty()) {
                untagged++;
            } else {
                tags.addAll(repoTags);
            }
        }
        return tags.stream().collect(Collectors.joining(", "))
                + (untagged == 0
                        ? ""
                        : (tags.isEmpty() ? "" : "; ") + untagged + " untagged image(s), which cannot be chosen");
    }
}
