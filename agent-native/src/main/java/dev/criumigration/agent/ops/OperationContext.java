package dev.criumigration.agent.ops;

/** What every operation runs with: its deadline, its cancel switch, its listener and CRIU. */
public record OperationContext(
    Deadline deadline, Cancellation cancellation, OperationListener listener, CriuLauncher criu) {}
