package dev.isolated.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine a run was taken on.
 *
 * @param cpus {@code nproc}
 * @param cpuModel the CPU's model name
 * @param kernel {@code uname -r}
 * @param os the distribution's PRETTY_NAME
 * @param jdk the running JDK's version and vendor
 * @param memoryGib the host's memory
 */
record Machine(int cpus, String cpuModel, String kernel, String os, String jdk, double memoryGib) {

    static Machine describe() {
        return new Machine(
                Runtime.getRuntime().availableProcessors(),
                readCpuModel(),
                Processes.outputOrEmpty("uname", "-r"),
                prettyName(),
                "OpenJDK " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.vendor") + ")",
                memTotalKib() / 1024.0 / 1024.0);
    }

    /** @return a one-line description for titles */
    String oneLine() {
        return String.format(java.util.Locale.ROOT, "nproc %d, Linux %s, %s, %s", cpus, kernel, jdk, os);
    }

    private static String readCpuModel() {
        return firstValue(Path.of("/proc/cpuinfo"), "model name", ':');
    }

    private static String prettyName() {
        return firstValue(Path.of("/etc/os-release"), "PRETTY_NAME", '=').replace("\"", "");
    }

    private static long memTotalKib() {
        String v = firstValue(Path.of("/proc/meminfo"), "MemTotal", ':')
                .replace("kB", "")
                .trim();
        return v.isEmpty() ? 0 : Long.parseLong(v);
    }

    private static String firstValue(Path file, String key, char separator) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.startsWith(key)) {
                    return line.substring(line.indexOf(separator) + 1).trim();
                }
            }
        } catch (IOException e) {
            // unknown on this machine
        }
        return "";
    }
}
