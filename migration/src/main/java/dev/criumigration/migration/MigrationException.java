package dev.criumigration.migration;

import dev.criumigration.migration.MigrationReport.PhaseTiming;

import java.util.List;
import java.util.Optional;

/**
 * A migration step failed. Says in which phase, what kind of failure, whether the source tree was
 * resumed (it runs again with its state), and what to do about it.
 */
public final class MigrationException extends Exception {
    private static final long serialVersionUID = 1L;

    public enum Kind {
        /** Bad input: fix the arguments. Nothing was changed. */
        USAGE(true),
        /** The host's SSH key is unknown or differs from the trusted one. Nothing was sent. */
        HOST_KEY(true),
        /** SSH authentication failed (key refused, wrong passphrase, sudo asking for a password). */
        AUTH(true),
        /** The host could not be reached or the connection broke. */
        CONNECT(false),
        /** A deadline passed. */
        TIMEOUT(false),
        /** {@link MigrationEngine#cancel()} was called. */
        CANCELLED(false),
        /** A host is not ready: Java, CRIU or the agent missing or failing its check. */
        HOST_NOT_READY(true),
        /** Another migration (of this controller or another one) holds the process or its images directory. */
        BUSY(true),
        /** The hosts cannot take part in this migration together (CRIU versions, CPU, tmpfs room). */
        INCOMPATIBLE(true),
        /** CRIU failed on a host (its error, errno and log lines are in the message and the excerpt). */
        CRIU_FAILED(false),
        /** The page server failed: it exited with an error, or its images are gone or incomplete. */
        PAGE_SERVER_FAILED(false),
        /** The page stream's TLS handshake failed: the two ends do not trust each other. */
        TLS_FAILED(false),
        /** An I/O error on a host (a full file system, a directory that cannot be written). */
        HOST_IO(false),
        /** Something on a host is not as the migration needs it (a tree not running, a copy left there). */
        REMOTE(false),
        /** A bug or a broken protocol stream. */
        INTERNAL(false);

        private final boolean userError;

        Kind(boolean userError) {
            this.userError = userError;
        }
    }

    private final Phase phase;
    private final Kind kind;
    private final boolean sourceResumed;
    private final String hint;
    private final List<String> criuLogExcerpt;
    // Transient: what the call did is for its caller, not for a serialized copy of the failure.
    private transient List<PhaseTiming> phases = List.of();
    private transient MigrationReport partialReport;

    public MigrationException(Phase phase, Kind kind, String message, String hint, boolean sourceResumed,
                              List<String> criuLogExcerpt, Throwable cause) {
        super(message, cause);
        this.phase = phase;
        this.kind = kind;
        this.hint = hint == null ? "" : hint;
        this.sourceResumed = sourceResumed;
        this.criuLogExcerpt = criuLogExcerpt == null ? List.of() : List.copyOf(criuLogExcerpt);
    }

    public MigrationException(Phase phase, Kind kind, String message, String hint) {
        this(phase, kind, message, hint, false, List.of(), null);
    }

    /** The phase that failed, or null when the failure came before any phase (bad arguments). */
    public Phase phase() {
        return phase;
    }

    public Kind kind() {
        return kind;
    }

    /** True when a source tree that had been frozen was resumed and runs again. */
    public boolean sourceResumed() {
        return sourceResumed;
    }

    /** What to do about it; empty when there is nothing specific to say. */
    public String hint() {
        return hint;
    }

    /** CRIU's log lines around its first "Error", when CRIU failed. */
    public List<String> criuLogExcerpt() {
        return criuLogExcerpt;
    }

    /** The caller can fix this (arguments, keys, host set-up); not worth a stack trace. */
    public boolean isUserError() {
        return kind.userError;
    }

    /** The same failure, now known to have happened in {@code phase} and with the source's fate known. */
    public MigrationException in(Phase failedPhase, boolean resumed) {
        MigrationException copy = new MigrationException(failedPhase, kind, getMessage(), hint, resumed,
                criuLogExcerpt, getCause());
        copy.setStackTrace(getStackTrace());
        copy.phases = phases;
        copy.partialReport = partialReport;
        return copy;
    }

    /** The same failure with what the call did before it: its phases and, for a migration, its report so far. */
    public MigrationException withProgress(List<PhaseTiming> ranPhases, MigrationReport report) {
        MigrationException copy = in(phase, sourceResumed);
        copy.phases = List.copyOf(ranPhases);
        copy.partialReport = report;
        return copy;
    }

    /** The phases that ran before the failure, the failed one with its time so far; never null. */
    public List<PhaseTiming> phases() {
        return phases == null ? List.of() : phases;
    }

    /** For a failed one-shot migration: its report as far as it got (hosts, phases, warnings). */
    public Optional<MigrationReport> partialReport() {
        return Optional.ofNullable(partialReport);
    }

    /** One paragraph for people: phase, message, source state, hint, CRIU log excerpt. */
    public String describe() {
        StringBuilder text = new StringBuilder();
        if (phase != null) {
            text.append(phase.label()).append(" failed: ");
        }
        text.append(getMessage());
        if (sourceResumed) {
            text.append("\nThe source was resumed and runs with its state.");
        }
        if (!hint.isEmpty()) {
            text.append("\nHint: ").append(hint);
        }
        if (!criuLogExcerpt.isEmpty()) {
            text.append("\nCRIU log:");
            for (String line : criuLogExcerpt) {
                text.append("\n  ").append(line);
            }
        }
        return text.toString();
    }
}
