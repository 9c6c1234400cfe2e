package dev.criumigration.agent.nativeio;

import java.io.IOException;
import java.nio.file.Path;

/** tmpfs mounts for page-server image directories, and statfs. */
public final class Mounts {
    private Mounts() {
    }

    // TODO(agent-core): not implemented yet; the signatures are stable.

    /** Mounts a fresh tmpfs of {@code sizeBytes} on {@code dir} (mode 0700, nosuid, nodev). */
    public static void mountTmpfs(Path dir, long sizeBytes) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Unmounts {@code dir}; a busy mount is detached lazily (MNT_DETACH). */
    public static void unmount(Path dir) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** True if {@code dir} itself is the mount point of a tmpfs. */
    public static boolean isTmpfsMountPoint(Path dir) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public static FsStats statfs(Path path) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
