package dev.criumigration.migration.phases;

import dev.criumigration.agent.protocol.FetchImagesResult;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.Sizes;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.hosts.HostSession;

import java.time.Duration;

/** The few non-page image files, from the source agent through the controller to the destination agent. */
public final class CopyImagesPhase {
    private final PhaseContext context;

    public CopyImagesPhase(PhaseContext context) {
        this.context = context;
    }

    public void copy(HostSession src, String fromDir, HostSession dst, String toDir, Duration timeout)
            throws MigrationException {
        FetchImagesResult images = src.call(AgentRequests.fetchImages(fromDir), timeout).getFetchImages();
        dst.call(AgentRequests.putImages(toDir, images.getFilesList()), timeout);
        long bytes = images.getFilesList().stream().mapToLong(file -> file.getContent().size()).sum();
        context.listener().log("copied " + images.getFilesCount() + " image files (" + Sizes.human(bytes) + ") from "
                + src + " to " + dst);
    }
}
