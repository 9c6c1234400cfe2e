package dev.criumigration.migration;

import java.time.Duration;

/**
 * A dump of the tree rooted at {@code pid} on the source, its pages sent to a page server.
 *
 * @param imagesDir      where the source keeps the non-page images, inside the images base; null: a new
 *                       directory beside the page server's
 * @param leaveStopped   the tree stays stopped after the dump (the three-step flow); false resumes it
 *                       right after the dump (a checkpoint, not a migration)
 * @param tcpEstablished dump established TCP connections (CRIU --tcp-established)
 * @param shellJob       the tree is a shell job (CRIU --shell-job)
 * @param timeout        null: the engine's operation timeout
 */
public record DumpSpec(int pid, String imagesDir, boolean leaveStopped, boolean tcpEstablished, boolean shellJob,
                       Duration timeout) {
    public DumpSpec {
        if (pid <= 1) {
            throw new UsageException("pid " + pid + " cannot be dumped: give the PID of the tree's root process (> 1)");
        }
        imagesDir = Paths.absolute(imagesDir, "imagesDir");
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new UsageException("timeout must be positive");
        }
    }

    /** A leave-stopped dump of {@code pid} with everything else by default. */
    public static DumpSpec of(int pid) {
        return new DumpSpec(pid, null, true, false, false, null);
    }

    public static Builder builder(int pid) {
        return new Builder(pid);
    }

    public static final class Builder {
        private final int pid;
        private String imagesDir;
        private boolean leaveStopped = true;
        private boolean tcpEstablished;
        private boolean shellJob;
        private Duration timeout;

        private Builder(int pid) { this.pid = pid; }

        public Builder imagesDir(String v) { imagesDir = v; return this; }
        public Builder leaveStopped(boolean v) { leaveStopped = v; return this; }
        public Builder tcpEstablished(boolean v) { tcpEstablished = v; return this; }
        public Builder shellJob(boolean v) { shellJob = v; return this; }
        public Builder timeout(Duration v) { timeout = v; return this; }

        public DumpSpec build() {
            return new DumpSpec(pid, imagesDir, leaveStopped, tcpEstablished, shellJob, timeout);
        }
    }
}
