package dev.criumigration.migration.flows;

import dev.criumigration.migration.AbortOutcome;
import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.Paths;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.phases.Undo;
import dev.criumigration.migration.phases.Undo.SourceState;
import dev.criumigration.migration.ssh.HostAddress;

import java.time.Duration;

/**
 * Gives up a step-by-step migration, after any step or when its controller died during one. When the
 * source tree still exists: on the destination kills a tree restored from the page server's images (a
 * restore step that did not finish), stops the page server and removes its images, and only then
 * resumes the source that the dump left stopped (never two copies). When the source is already gone,
 * the restore step had finished the migration: the restored tree is left running and only the images
 * are removed - unless no restored tree runs, when the images may be the tree's last copy: then nothing
 * is removed and the abort fails. When the source cannot be reached, nothing is changed.
 */
public final class AbortStep {
    private static final Duration STEP = Duration.ofSeconds(60);
    private final StepContext steps;

    public AbortStep(StepContext steps) {
        this.steps = steps;
    }

    /** {@code dump} may be null (only a page server was started). */
    public AbortOutcome run(PageServerInfo pageServer, DumpInfo dump) throws MigrationException {
        PageServerInfo server = dump != null ? dump.pageServer() : pageServer;
        Checks.require(server, "page server");
        HostAddress pageServerHost = Checks.hostOf(server.host(), "the page server's host");
        HostAddress source = dump == null ? null : Checks.hostOf(dump.source(), "the dump's source");
        String base = steps.settings().imagesBase();
        try {
            Paths.inside(Paths.absolute(server.imagesDir(), "the page server's imagesDir"), base,
                    "the page server's imagesDir", false);
            if (dump != null) {
                Paths.inside(Paths.absolute(dump.imagesDir(), "the dump's imagesDir"), base, "the dump's imagesDir",
                        false);
                Checks.resolvable(source);
            }
            Checks.resolvable(pageServerHost);
        } catch (UsageException e) {
            throw Checks.usage(e);
        }
        Undo undo = steps.undo();
        if (dump == null) {
            undo.cleanup(null, pageServerHost, server.imagesDir(), false);
            return AbortOutcome.PAGE_SERVER_REMOVED;
        }
        SourceState sourceState = undo.sourceState(null, source, dump.pid());
        if (sourceState == SourceState.UNKNOWN) {
            throw new MigrationException(null, Kind.CONNECT, "cannot tell whether the source tree " + dump.pid()
                    + " on " + source + " still exists: nothing was changed", "run the abort again once " + source
                    + " answers");
        }
        if (sourceState == SourceState.GONE) {
            removeMigratedImages(pageServerHost, server.imagesDir(), source, dump);
            steps.listener().warning("the source tree " + dump.pid() + " on " + source + " is gone: the restore step "
                    + "had finished the migration, so the tree restored on " + pageServerHost + " stays");
            undo.cleanup(null, source, dump.imagesDir());
            return AbortOutcome.ALREADY_MIGRATED;
        }
        // The destination first: a tree restored there goes before the source may run again.
        if (!undo.cleanup(null, pageServerHost, server.imagesDir(), true)) {
            throw new MigrationException(null, Kind.REMOTE, "could not clear " + server.imagesDir() + " on "
                    + pageServerHost + ", where a restored copy of the tree may run: the source tree " + dump.pid()
                    + " on " + source + " stays stopped", "once no copy runs on " + pageServerHost + ", resume the "
                    + "source tree " + dump.pid() + " on " + source);
        }
        boolean runs = undo.resumeSource(null, source, dump.pid());
        undo.cleanup(null, source, dump.imagesDir());
        return runs ? AbortOutcome.SOURCE_RESUMED : AbortOutcome.SOURCE_NOT_CONFIRMED;
    }

    /**
     * Removes the page server's images of a migration whose source is gone, but only if the tree
     * restored from them runs: otherwise they may be the tree's last copy, and both hosts keep theirs.
     */
    private void removeMigratedImages(HostAddress host, String imagesDir, HostAddress source, DumpInfo dump)
            throws MigrationException {
        try {
            steps.sessions().onHost(null, host, s -> s.callWhateverHappened(
                    AgentRequests.cleanup(imagesDir, false, true), STEP));
        } catch (MigrationException e) {
            if (e.kind() != Kind.USAGE) {
                throw e;
            }
            throw new MigrationException(null, Kind.REMOTE, "the source tree " + dump.pid() + " on " + source
                    + " is gone, but no tree restored from " + imagesDir + " runs on " + host + ": the images there "
                    + "and in " + dump.imagesDir() + " on " + source + " are kept, as they may be the tree's last copy",
                    "look at them with criu-agent images --images-dir " + imagesDir + " on " + host + "; remove them "
                    + "with criu-agent cleanup --images-dir DIR on each host once nothing needs them");
        }
    }
}
