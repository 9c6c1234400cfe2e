package dev.criumigration.agent.nativeio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** tmpfs mounts for page-server image directories, and statfs. */
public final class Mounts {
    /** The mount source shown in /proc/mounts, so a leftover mount says whose it is. */
    public static final String TMPFS_SOURCE = "criu-migration";

    private Mounts() {
    }

    /** Mounts a fresh tmpfs of {@code sizeBytes} on the existing directory {@code dir} (mode 0700, nosuid, nodev). */
    public static void mountTmpfs(Path dir, long sizeBytes) throws IOException {
        if (sizeBytes <= 0) {
            throw new IllegalArgumentException("tmpfs size must be positive, not " + sizeBytes);
        }
        String target = dir.toAbsolutePath().toString();
        if (LibC.INSTANCE.mount(TMPFS_SOURCE, target, "tmpfs", LibC.MS_NOSUID | LibC.MS_NODEV,
                "size=" + sizeBytes + ",mode=0700") != 0) {
            throw NativeException.lastError("mount tmpfs", target);
        }
    }

    /** Unmounts {@code dir}; a busy mount is detached lazily (MNT_DETACH) and goes once no one uses it. */
    public static void unmount(Path dir) throws IOException {
        String target = dir.toAbsolutePath().toString();
        if (LibC.INSTANCE.umount2(target, 0) == 0) {
            return;
        }
        NativeException error = NativeException.lastError("umount2", target);
        if (error.errno() != LibC.EBUSY) {
            throw error;
        }
        if (LibC.INSTANCE.umount2(target, LibC.MNT_DETACH) != 0) {
            throw NativeException.lastError("umount2(MNT_DETACH)", target);
        }
    }

    /**
     * True if {@code dir} itself is the mount point of a tmpfs (the topmost mount there, per
     * /proc/self/mountinfo); false also when {@code dir} does not exist.
     */
    public static boolean isTmpfsMountPoint(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        String target = dir.toRealPath().toString();
        String topmostType = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            // "36 35 98:0 /root /mnt/point rw,noatime master:1 - tmpfs source rw,size=..."
            String[] fields = line.split(" ");
            int separator = List.of(fields).indexOf("-");
            if (fields.length > 4 && separator > 4 && separator + 1 < fields.length
                    && unescape(fields[4]).equals(target)) {
                topmostType = fields[separator + 1];
            }
        }
        return "tmpfs".equals(topmostType);
    }

    /** mountinfo writes space, tab, newline and backslash in paths as \ooo octal escapes. */
    private static String unescape(String field) {
        StringBuilder text = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
                text.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                text.append(c);
            }
        }
        return text.toString();
    }

    public static FsStats statfs(Path path) throws IOException {
        LibC.StatFs stats = new LibC.StatFs();
        String target = path.toAbsolutePath().toString();
        if (LibC.INSTANCE.statfs(target, stats) != 0) {
            throw NativeException.lastError("statfs", target);
        }
        long blockSize = stats.f_frsize != 0 ? stats.f_frsize : stats.f_bsize;
        return new FsStats(stats.f_type, stats.f_bavail * blockSize, stats.f_blocks * blockSize);
    }
}
