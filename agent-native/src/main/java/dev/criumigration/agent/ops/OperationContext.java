package dev.criumigration.agent.ops;

/**
 * What every operation runs with: its deadline, its cancel switch, its listener, CRIU, and the
 * directory its images directories must be inside.
 */
public record OperationContext(Deadline deadline, Cancellation cancellation, OperationListener listener,
    CriuLauncher criu, ImagesBase imagesBase) {}
