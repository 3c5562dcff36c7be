package dev.isolated.internal.image;

import dev.isolated.internal.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads an image from an OCI image layout: {@code index.json} → (image index →) manifest → config and
 * layers, each blob read from {@code blobs/<algorithm>/<hex>} and checked against its digest.
 *
 * <p>The top-level index may hold several images; they are told apart by the annotations
 * {@code io.containerd.image.name} and {@code org.opencontainers.image.ref.name}. An image index
 * (multi-platform image) is followed to the manifest for {@code linux} and this JVM's architecture.
 */
final class OciLayoutReader {

    private static final String INDEX = "index.json";
    private static final String CONTAINERD_NAME = "io.containerd.image.name";
    private static final String REF_NAME = "org.opencontainers.image.ref.name";
    private static final int MAX_NESTING = 4;

    private final LayoutDirectory layout;
    private final String image;

    private OciLayoutReader(LayoutDirectory layout, String image) {
        this.layout = layout;
        this.image = image;
    }

    /**
     * @param reference the wanted image name or tag, or {@code null} for the only image
     * @param image the image's name for messages
     */
    static LayeredImage read(LayoutDirectory layout, String reference, String image) {
        return new OciLayoutReader(layout, image).read(reference);
    }

    private LayeredImage read(String reference) {
        JsonObject index = JsonObject.parse(layout.readJson(INDEX, null, INDEX), INDEX + " of image " + image);
        List<Descriptor> candidates =
                index.objects("manifests").stream().map(Descriptor::read).toList();
        if (candidates.isEmpty()) {
            throw new ImageUnpackException("Image " + image + ": its " + INDEX + " lists no manifests");
        }
        return manifest(forPlatform(byReference(candidates, reference), INDEX), 0);
    }

    private List<Descriptor> byReference(List<Descriptor> candidates, String reference) {
        if (reference == null) {
            Set<String> images = candidates.stream()
                    .map(OciLayoutReader::nameOf)
                    .collect(Collectors.toCollection(LinkedHashSet::new));
            if (images.size() > 1) {
                throw new ImageUnpackException("Image " + image + " holds " + images.size() + " images; choose one by "
                        + "tag with '" + image + "#TAG'. Its tags: " + String.join(", ", images));
            }
            return candidates;
        }
        List<Descriptor> matching = candidates.stream()
                .filter(descriptor ->
                        names(descriptor).stream().anyMatch(name -> ImageReference.matches(reference, name)))
                .toList();
        if (matching.isEmpty()) {
            throw new ImageUnpackException("Image " + image + " holds no image tagged '" + reference + "'. Its tags: "
                    + candidates.stream()
                            .map(OciLayoutReader::nameOf)
                            .distinct()
                            .collect(Collectors.joining(", ")));
        }
        return matching;
    }

    /** Picks the entry for linux and this JVM's architecture when there are several. */
    private Descriptor forPlatform(List<Descriptor> candidates, String where) {
        List<Descriptor> images = candidates.stream()
                .filter(d -> !"attestation-manifest".equals(d.annotations().get("vnd.docker.reference.type")))
                .toList();
        if (images.size() == 1) {
            return images.get(0);
        }
        String architecture = RuntimePlatform.architecture();
        List<Descriptor> matching = images.stream()
                .filter(d -> d.platform() != null
                        && d.platform().os().equals("linux")
                        && d.platform().architecture().equals(architecture))
                .toList();
        if (matching.isEmpty()) {
            throw new ImageUnpackException("Image " + image + ": " + where + " has no manifest for linux/"
                    + architecture + ", only for: "
                    + images.stream().map(d -> String.valueOf(d.platform())).collect(Collectors.joining(", ")));
        }
        return matching.get(0);
    }

    private LayeredImage manifest(Descriptor descriptor, int depth) {
        String path = descriptor.blobPath();
        String what = descriptor.isIndex() ? "image index" : "manifest";
        String text = layout.readJson(path, descriptor.digest(), what);
        JsonObject json = JsonObject.parse(text, what + " " + descriptor.digest() + " of image " + image);
        if (descriptor.isIndex() || (json.has("manifests") && !json.has("layers"))) {
            if (depth >= MAX_NESTING) {
                throw new ImageUnpackException("Image " + image + ": image indexes nested deeper than " + MAX_NESTING);
            }
            List<Descriptor> manifests =
                    json.objects("manifests").stream().map(Descriptor::read).toList();
            if (manifests.isEmpty()) {
                throw new ImageUnpackException(
                        "Image " + image + ": image index " + descriptor.digest() + " lists no manifests");
            }
            return manifest(forPlatform(manifests, "image index " + descriptor.digest()), depth + 1);
        }
        Descriptor configDescriptor = Descriptor.read(json.object("config"));
        String configText = layout.readJson(configDescriptor.blobPath(), configDescriptor.digest(), "config");
        JsonObject config = JsonObject.parse(configText, "config " + configDescriptor.digest() + " of image " + image);
        List<JsonObject> layerObjects = json.objects("layers");
        List<String> diffIds = ImageConfigJson.diffIds(config);
        List<LayeredImage.Layer> layers = new ArrayList<>();
        for (int i = 0; i < layerObjects.size(); i++) {
            Descriptor layer = Descriptor.read(layerObjects.get(i));
            layers.add(new LayeredImage.Layer(
                    layer.blobPath(),
                    layer.digest(),
                    "layer " + (i + 1) + " of " + layerObjects.size() + " (" + layer.digest() + ")",
                    DiffIds.at(diffIds, i, layerObjects.size())));
        }
        return new LayeredImage(ImageConfigJson.read(config), layers);
    }

    private static List<String> names(Descriptor descriptor) {
        List<String> names = new ArrayList<>();
        String containerd = descriptor.annotations().get(CONTAINERD_NAME);
        String ref = descriptor.annotations().get(REF_NAME);
        if (containerd != null) {
            names.add(containerd);
        }
        if (ref != null) {
            names.add(ref);
        }
        return names;
    }

    private static String nameOf(Descriptor descriptor) {
        List<String> names = names(descriptor);
        return names.isEmpty() ? "(untagged)" : names.get(0);
    }
}
