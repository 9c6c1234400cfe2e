package dev.criumigration.jenkins;

import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.RestoreInfo;
import dev.criumigration.migration.RestoreSpec;
import dev.criumigration.migration.ssh.HostAddress;
import edu.umd.cs.findbugs.annotations.NonNull;
import hudson.AbortException;
import hudson.Extension;
import hudson.Util;
import hudson.model.Run;
import hudson.util.FormValidation;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jenkinsci.plugins.workflow.steps.StepContext;
import org.jenkinsci.plugins.workflow.steps.StepExecution;
import org.kohsuke.stapler.DataBoundConstructor;
import org.kohsuke.stapler.DataBoundSetter;
import org.kohsuke.stapler.QueryParameter;

/**
 * {@code criuRestore}: copies the remaining images from the dump's source, checks the page server's
 * exit status, restores on the destination, then kills the source (by default) once the restored
 * tree runs; on any failure the source is resumed. Returns the new PID and the restore's stats.
 */
public final class CriuRestoreStep extends CriuStep {
    private final String host;
    private final Object dump;
    private String imagesDir;
    private boolean killSource = true;
    private int timeout;

    /**
     * @param dump the map {@code criuDump} returned; typed {@code Object} for the same reason as
     *             {@code criuDump}'s {@code pageServer}, and checked when the step runs
     */
    @DataBoundConstructor
    public CriuRestoreStep(String host, String credentialsId, Object dump) {
        super(credentialsId);
        this.host = Util.fixEmptyAndTrim(host);
        this.dump = dump instanceof Map<?, ?> map ? new LinkedHashMap<>(map) : dump;
    }

    public String getHost() {
        return host;
    }

    public Object getDump() {
        return dump;
    }

    public String getImagesDir() {
        return imagesDir;
    }

    @DataBoundSetter
    public void setImagesDir(String imagesDir) {
        this.imagesDir = Util.fixEmptyAndTrim(imagesDir);
    }

    public boolean isKillSource() {
        return killSource;
    }

    @DataBoundSetter
    public void setKillSource(boolean killSource) {
        this.killSource = killSource;
    }

    public int getTimeout() {
        return timeout;
    }

    @DataBoundSetter
    public void setTimeout(int timeout) {
        this.timeout = timeout;
    }

    @Override
    public StepExecution start(StepContext context) {
        return new Execution(this, context);
    }

    private static final class Execution extends EngineStepExecution<RestoreInfo> {
        private static final long serialVersionUID = 1L;
        private final transient CriuRestoreStep step;

        Execution(CriuRestoreStep step, StepContext context) {
            super(step, context);
            this.step = step;
        }

        @Override
        protected Call<RestoreInfo> prepare(Run<?, ?> build) throws AbortException {
            HostAddress destination = hostArgument("host", step.host);
            if (!(step.dump instanceof Map<?, ?> dumpMap)) {
                throw new AbortException(Messages.CriuRestoreStep_NoDump());
            }
            DumpInfo dump = DumpInfo.fromMap(dumpMap);
            RestoreSpec spec = RestoreSpec.builder()
                    .imagesDir(step.imagesDir)
                    .killSource(step.killSource)
                    .timeout(timeoutArgument(step.timeout))
                    .build();
            MigrationRecord record = MigrationReportAction.awaitingRestore(build, dump.source(), dump.pid());
            if (record == null) { // dumped in another build, or by hand
                record = new MigrationRecord(dump.source(), dump.pid(), destination.toString());
                record.setMemory(dump.frozenMillis(), dump.pages(), dump.bytes(), dump.megabytesPerSecond());
            }
            return new Call<>(engine -> engine.restore(destination, spec, dump), record);
        }

        @Override
        protected Object succeeded(RestoreInfo restored, MigrationRecord record, PrintStream log) {
            record.restored(restored.destination(), restored.pid());
            record.finish(restored.sourceKilled() ? Messages.Record_Migrated() : Messages.Record_RestoredSourceStopped(),
                    false, false);
            log.println(Messages.CriuRestoreStep_Summary(String.valueOf(restored.sourcePid()),
                    restored.source(), restored.destination(), String.valueOf(restored.pid()),
                    restored.pagesRestored(), MigrationRecord.formatMillis(restored.durationMillis())));
            log.println(restored.sourceKilled()
                    ? Messages.CriuRestoreStep_SourceKilled()
                    : Messages.CriuRestoreStep_SourceLeftStopped());
            return restored.toMap();
        }
    }

    @Extension
    public static final class DescriptorImpl extends CriuStepDescriptor {
        @Override
        public String getFunctionName() {
            return "criuRestore";
        }

        @NonNull
        @Override
        public String getDisplayName() {
            return Messages.CriuRestoreStep_DisplayName();
        }

        @Override
        public String argumentsToString(@NonNull Map<String, Object> namedArgs) {
            return namedArgs.get("host") instanceof CharSequence host ? host.toString() : null;
        }

        public FormValidation doCheckHost(@QueryParameter String value) {
            return checkHost(value);
        }

        public FormValidation doCheckTimeout(@QueryParameter int value) {
            return checkTimeout(value);
        }
    }
}
