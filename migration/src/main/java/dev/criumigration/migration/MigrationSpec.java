package dev.criumigration.migration;

import dev.criumigration.migration.ssh.HostAddress;

import java.time.Duration;

/**
 * A whole migration of the tree rooted at {@code pid} from one host to another.
 *
 * @param imagesDir      root under which each migration makes its own directories on both hosts: the
 *                       images base ({@link SshSettings#imagesBase()}, the default) or inside it
 * @param tmpfsSize      destination tmpfs size; null: sized from the workload's memory
 * @param tcpEstablished migrate established TCP connections
 * @param shellJob       the tree is a shell job
 * @param dryRun         run only the preflight
 * @param timeout        deadline of the whole migration; null: the engine's operation timeout
 * @param tls            encrypt and authenticate the page stream with CRIU's TLS and certificates made
 *                       for this migration (the default); false sends the memory in plain text
 * @param pageServerAddress where the destination's page server listens; null: the destination's own
 *                       address on its route to the source, as its agent finds it (behind NAT, a
 *                       bastion or on a multi-homed host, give the address the source really reaches)
 * @param recheck        ask CRIU again on both hosts (host checks, CPU check) instead of reusing what
 *                       the agents kept from an earlier migration with the same CRIU, kernel and agent
 * @param pageStream     how the pages travel; null: {@link PageStream#DEFAULT} (the agents' relay)
 */
public record MigrationSpec(HostAddress from, HostAddress to, int pid, String imagesDir, String tmpfsSize,
                            boolean tcpEstablished, boolean shellJob, boolean dryRun, Duration timeout,
                            boolean tls, String pageServerAddress, boolean recheck, PageStream pageStream) {
    public MigrationSpec {
        if (pageStream == null) {
            pageStream = PageStream.DEFAULT;
        }
        if (from == null || to == null) {
            throw new UsageException("both hosts are required: --from [USER@]HOST[:PORT] --to [USER@]HOST[:PORT]");
        }
        if (pid <= 1) {
            throw new UsageException("pid " + pid + " cannot be migrated: give the PID of the tree's root process (> 1)");
        }
        imagesDir = Paths.absolute(imagesDir, "imagesDir");
        if (tmpfsSize != null && tmpfsSize.isBlank()) {
            tmpfsSize = null;
        }
        if (tmpfsSize != null) {
            Sizes.parse(tmpfsSize, "tmpfsSize");
        }
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new UsageException("timeout must be positive");
        }
        pageServerAddress = PageServerSpec.checkedAddress(pageServerAddress);
    }

    public static Builder builder(HostAddress from, HostAddress to, int pid) {
        return new Builder(from, to, pid);
    }

    public static final class Builder {
        private final HostAddress from;
        private final HostAddress to;
        private final int pid;
        private String imagesDir;
        private String tmpfsSize;
        private boolean tcpEstablished;
        private boolean shellJob;
        private boolean dryRun;
        private Duration timeout;
        private boolean tls = true;
        private String pageServerAddress;
        private boolean recheck;
        private PageStream pageStream = PageStream.DEFAULT;

        private Builder(HostAddress from, HostAddress to, int pid) {
            this.from = from;
            this.to = to;
            this.pid = pid;
        }

        public Builder imagesDir(String v) { imagesDir = v; return this; }
        public Builder tmpfsSize(String v) { tmpfsSize = v; return this; }
        public Builder tcpEstablished(boolean v) { tcpEstablished = v; return this; }
        public Builder shellJob(boolean v) { shellJob = v; return this; }
        public Builder dryRun(boolean v) { dryRun = v; return this; }
        public Builder timeout(Duration v) { timeout = v; return this; }
        /** false: the page stream is not encrypted (logged as a warning). */
        public Builder tls(boolean v) { tls = v; return this; }
        public Builder pageServerAddress(String v) { pageServerAddress = v; return this; }
        public Builder recheck(boolean v) { recheck = v; return this; }
        public Builder pageStream(PageStream v) { pageStream = v; return this; }

        public MigrationSpec build() {
            return new MigrationSpec(from, to, pid, imagesDir, tmpfsSize, tcpEstablished, shellJob, dryRun, timeout,
                    tls, pageServerAddress, recheck, pageStream);
        }
    }
}
