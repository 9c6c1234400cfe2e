package dev.criumigration.jenkins;

import hudson.model.Run;
import java.util.ArrayList;
import java.util.List;
import jenkins.model.RunAction2;

/**
 * The build's CRIU migrations: a table per migration on the build page ({@code summary.jelly}) and
 * on its own page ({@code index.jelly}). Steps in parallel branches may add to it at once.
 */
public final class MigrationReportAction implements RunAction2 {
    private final List<MigrationRecord> migrations = new ArrayList<>();
    private transient Run<?, ?> run;

    /** The build's action, added on first use. */
    static MigrationReportAction of(Run<?, ?> run) {
        synchronized (MigrationReportAction.class) {
            MigrationReportAction action = run.getAction(MigrationReportAction.class);
            if (action == null) {
                action = new MigrationReportAction();
                run.addAction(action);
            }
            return action;
        }
    }

    /** Adds {@code record} unless it is listed already (a three-step migration's, completed by criuRestore). */
    synchronized void add(MigrationRecord record) {
        if (migrations.stream().noneMatch(listed -> listed == record)) {
            migrations.add(record);
        }
    }

    /** The build's latest dump of {@code pid} on {@code source} that waits for its restore, or null. */
    static MigrationRecord awaitingRestore(Run<?, ?> run, String source, int pid) {
        MigrationReportAction action = run.getAction(MigrationReportAction.class);
        return action == null ? null : action.latestAwaitingRestore(source, pid);
    }

    private synchronized MigrationRecord latestAwaitingRestore(String source, int pid) {
        for (int i = migrations.size() - 1; i >= 0; i--) {
            if (migrations.get(i).isAwaitingRestoreOf(source, pid)) {
                return migrations.get(i);
            }
        }
        return null;
    }

    public synchronized List<MigrationRecord> getMigrations() {
        return new ArrayList<>(migrations);
    }

    public Run<?, ?> getRun() {
        return run;
    }

    @Override
    public String getIconFileName() {
        return "symbol-server";
    }

    @Override
    public String getDisplayName() {
        return Messages.MigrationReportAction_DisplayName();
    }

    @Override
    public String getUrlName() {
        return "criu-migrations";
    }

    @Override
    public void onAttached(Run<?, ?> r) {
        this.run = r;
    }

    @Override
    public void onLoad(Run<?, ?> r) {
        this.run = r;
    }
}
