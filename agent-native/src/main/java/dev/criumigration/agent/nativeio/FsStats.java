package dev.criumigration.agent.nativeio;

/** What statfs(2) says about a file system: its magic type and its free and total bytes. */
public record FsStats(long type, long freeBytes, long totalBytes) {
    public static final long TMPFS_MAGIC = 0x01021994L;

    public boolean isTmpfs() {
        return type == TMPFS_MAGIC;
    }
}
