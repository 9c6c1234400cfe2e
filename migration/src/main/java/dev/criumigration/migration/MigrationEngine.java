package dev.criumigration.migration;

import dev.criumigration.migration.ssh.HostAddress;

/**
 * Moves process trees between hosts over SSH by driving criu-agent on each. One engine holds one SSH
 * client; it may serve several calls one after another. {@link #cancel()} may be called from any thread.
 */
public final class MigrationEngine implements AutoCloseable {
    private final SshSettings settings;
    private final MigrationListener listener;

    public MigrationEngine(SshSettings settings, MigrationListener listener) {
        this.settings = settings;
        this.listener = listener == null ? MigrationListener.NONE : listener;
    }

    /** Starts a detached page server (on a tmpfs) on the destination. */
    public PageServerInfo startPageServer(HostAddress destination, PageServerSpec spec) throws MigrationException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Dumps the tree on the source to the page server; with leaveStopped the source stays stopped. */
    public DumpInfo dump(HostAddress source, DumpSpec spec, PageServerInfo pageServer) throws MigrationException {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Copies the non-page images from the dump's source, checks the page server's status, restores,
     * confirms the restored root alive, then kills the source (when killSource). On any failure the
     * source is resumed and the destination cleaned.
     */
    public RestoreInfo restore(HostAddress destination, RestoreSpec spec, DumpInfo dump) throws MigrationException {
        throw new UnsupportedOperationException("not yet");
    }

    /** All phases with the post-dump commit point; any failure resumes the source. */
    public MigrationReport migrate(MigrationSpec spec) throws MigrationException {
        throw new UnsupportedOperationException("not yet");
    }

    /** Makes the running call roll back and throw MigrationException(CANCELLED). */
    public void cancel() {
    }

    @Override
    public void close() {
    }
}
