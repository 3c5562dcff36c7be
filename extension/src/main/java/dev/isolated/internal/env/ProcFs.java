package dev.isolated.internal.env;

import dev.isolated.IsolatedException;
import dev.isolated.MountInfo;
import dev.isolated.ProcessInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Reads what an environment looks like from the host's {@code /proc}: its processes (those in its init's
 * PID namespace) and its mount table (its init's {@code mountinfo}). Works for images without any
 * tools in them, such as a FROM-scratch image.
 */
final class ProcFs {
    private static final Path PROC = Paths.get("/proc");

    private ProcFs() {}

    static List<MountInfo> mounts(long initHostPid) {
        Path file = PROC.resolve(Long.toString(initHostPid)).resolve("mountinfo");
        try {
            List<MountInfo> mounts = new ArrayList<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                mounts.add(MountInfo.parse(line));
            }
            return mounts;
        } catch (IOException e) {
            throw new IsolatedException("Cannot read the environment's mount table " + file + ": " + e, e);
        }
    }

    static List<ProcessInfo> processesInPidNamespaceOf(long initHostPid) {
        String pidNs = readLink(PROC.resolve(Long.toString(initHostPid)).resolve("ns/pid"))
                .orElseThrow(() -> new IsolatedException("The environment's init (host pid " + initHostPid
                        + ") is gone: its PID namespace cannot be read"));
        List<ProcessInfo> found = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, "[0-9]*")) {
            for (Path dir : dirs) {
                if (readLink(dir.resolve("ns/pid")).filter(pidNs::equals).isPresent()) {
                    processInfo(dir).ifPresent(found::add);
                }
            }
        } catch (IOException e) {
            throw new IsolatedException("Cannot list processes in /proc: " + e, e);
        }
        found.sort(Comparator.comparingLong(ProcessInfo::pid));
        return found;
    }

    /**
     * @param pgid a process group id in the host's PID namespace
     * @return whether any process on the host is still in that group (a process that exits meanwhile is not)
     */
    static boolean anyInProcessGroup(long pgid) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, "[0-9]*")) {
            for (Path dir : dirs) {
                String stat;
                try {
                    stat = Files.readString(dir.resolve("stat"), StandardCharsets.UTF_8);
                } catch (IOException gone) {
                    continue;
                }
                // pid (comm) state ppid pgrp ...: comm may hold blanks and parentheses, so count from the last ')'
                String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ", 4);
                if (after.length > 2 && after[2].equals(Long.toString(pgid))) {
                    return true;
                }
            }
        } catch (IOException e) {
            throw new IsolatedException("Cannot list processes in /proc: " + e, e);
        }
        return false;
    }

    private static Optional<ProcessInfo> processInfo(Path dir) {
        try {
            long hostPid = Long.parseLong(dir.getFileName().toString());
            long nsPid = hostPid;
            for (String line : Files.readAllLines(dir.resolve("status"), StandardCharsets.UTF_8)) {
                if (line.startsWith("NSpid:")) {
                    String[] ids = line.substring(6).trim().split("\\s+");
                    nsPid = Long.parseLong(ids[ids.length - 1]);
                }
            }
            String comm = Files.readString(dir.resolve("comm"), StandardCharsets.UTF_8)
                    .strip();
            byte[] cmdline = Files.readAllBytes(dir.resolve("cmdline"));
            String commandLine = new String(cmdline, StandardCharsets.UTF_8)
                    .replace('\0', ' ')
                    .strip();
            return Optional.of(new ProcessInfo(nsPid, hostPid, comm, commandLine));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // exited while we were reading
        } catch (IOException e) {
            if (!Files.exists(dir)) {
                return Optional.empty();
            }
            throw new IsolatedException("Cannot read process " + dir + ": " + e, e);
        }
    }

    private static Optional<String> readLink(Path link) {
        try {
            return Optional.of(Files.readSymbolicLink(link).toString());
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
