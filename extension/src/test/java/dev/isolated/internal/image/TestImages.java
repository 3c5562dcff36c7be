package dev.isolated.internal.image;

import java.util.List;
import java.util.Map;

/** Images with a config, written as {@code docker save} does, for end-to-end tests outside this package. */
public final class TestImages {
    private TestImages() {
    }

    /**
     * @param runConfig the config's {@code "config"} object as JSON, e.g. {@code {"User":"app","Cmd":["id"]}}
     * @param layers the uncompressed layer tars, lowest first
     * @return a legacy {@code docker save} archive tagged {@code test:latest}
     */
    public static byte[] dockerSave(String runConfig, byte[]... layers) {
        String template = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":" + runConfig.replace("%", "%%")
                + ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[%s]}}";
        return TestLayouts.legacyDockerSaveWithConfig(new TestLayouts(), List.of("test:latest"),
                TestLayouts.config(template, layers), layers).tar();
    }

    /**
     * @param directories directories to create (mode 0755)
     * @param files text files (mode 0644) by path
     * @return an uncompressed layer tar
     */
    public static byte[] layer(List<String> directories, Map<String, String> files) {
        TestTars tar = TestTars.tar();
        directories.forEach(dir -> tar.directory(dir, 0755));
        files.forEach(tar::file);
        return tar.bytes();
    }
}
