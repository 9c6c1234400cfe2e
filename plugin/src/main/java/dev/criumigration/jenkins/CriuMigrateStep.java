package dev.criumigration.jenkins;

import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.ssh.HostAddress;
import edu.umd.cs.findbugs.annotations.NonNull;
import hudson.AbortException;
import hudson.Extension;
import hudson.Util;
import hudson.model.Run;
import hudson.util.FormValidation;
import java.io.PrintStream;
import java.util.Map;
import org.jenkinsci.plugins.workflow.steps.StepContext;
import org.jenkinsci.plugins.workflow.steps.StepExecution;
import org.kohsuke.stapler.DataBoundConstructor;
import org.kohsuke.stapler.DataBoundSetter;
import org.kohsuke.stapler.QueryParameter;

/**
 * {@code criuMigrate}: the whole live migration of the tree rooted at {@code pid} from one host to
 * another, with rollback: any failure before the destination runs the tree resumes the source.
 * Returns the migration report as a map.
 */
public final class CriuMigrateStep extends CriuStep {
    private final String from;
    private final String to;
    private final int pid;
    private String imagesDir;
    private String tmpfsSize;
    private boolean tcpEstablished;
    private boolean shellJob;
    private boolean dryRun;
    private int timeout;
    private boolean tls = true;
    private String pageTransport;
    private boolean compress;
    private String maxRate;
    private String pageServerAddress;

    @DataBoundConstructor
    public CriuMigrateStep(String from, String to, String credentialsId, int pid) {
        super(credentialsId);
        this.from = Util.fixEmptyAndTrim(from);
        this.to = Util.fixEmptyAndTrim(to);
        this.pid = pid;
    }

    public String getFrom() {
        return from;
    }

    public String getTo() {
        return to;
    }

    public int getPid() {
        return pid;
    }

    public String getImagesDir() {
        return imagesDir;
    }

    @DataBoundSetter
    public void setImagesDir(String imagesDir) {
        this.imagesDir = Util.fixEmptyAndTrim(imagesDir);
    }

    public String getTmpfsSize() {
        return tmpfsSize;
    }

    @DataBoundSetter
    public void setTmpfsSize(String tmpfsSize) {
        this.tmpfsSize = Util.fixEmptyAndTrim(tmpfsSize);
    }

    public boolean isTcpEstablished() {
        return tcpEstablished;
    }

    @DataBoundSetter
    public void setTcpEstablished(boolean tcpEstablished) {
        this.tcpEstablished = tcpEstablished;
    }

    public boolean isShellJob() {
        return shellJob;
    }

    @DataBoundSetter
    public void setShellJob(boolean shellJob) {
        this.shellJob = shellJob;
    }

    public boolean isDryRun() {
        return dryRun;
    }

    @DataBoundSetter
    public void setDryRun(boolean dryRun) {
        this.dryRun = dryRun;
    }

    public int getTimeout() {
        return timeout;
    }

    @DataBoundSetter
    public void setTimeout(int timeout) {
        this.timeout = timeout;
    }

    /** Whether the page stream is encrypted with CRIU's TLS; {@code tls: false} is the explicit opt-out. */
    public boolean isTls() {
        return tls;
    }

    @DataBoundSetter
    public void setTls(boolean tls) {
        this.tls = tls;
    }

    /** Where the destination's page server listens; null for the destination's own address toward the source. */
    public String getPageServerAddress() {
        return pageServerAddress;
    }

    @DataBoundSetter
    public void setPageServerAddress(String pageServerAddress) {
        this.pageServerAddress = Util.fixEmptyAndTrim(pageServerAddress);
    }

    /** "relay" (null: the default, the agents' relay) or "criu" (CRIU's own connection). */
    public String getPageTransport() {
        return pageTransport;
    }

    @DataBoundSetter
    public void setPageTransport(String pageTransport) {
        this.pageTransport = Util.fixEmptyAndTrim(pageTransport);
    }

    /** LZ4 on the relay's connection. */
    public boolean isCompress() {
        return compress;
    }

    @DataBoundSetter
    public void setCompress(boolean compress) {
        this.compress = compress;
    }

    /** The relay's cap in bytes a second ("200M"); null: none. */
    public String getMaxRate() {
        return maxRate;
    }

    @DataBoundSetter
    public void setMaxRate(String maxRate) {
        this.maxRate = Util.fixEmptyAndTrim(maxRate);
    }

    @Override
    public StepExecution start(StepContext context) {
        return new Execution(this, context);
    }

    private static final class Execution extends EngineStepExecution<MigrationReport> {
        private static final long serialVersionUID = 1L;
        private final transient CriuMigrateStep step;

        Execution(CriuMigrateStep step, StepContext context) {
            super(step, context);
            this.step = step;
        }

        @Override
        protected Call<MigrationReport> prepare(Run<?, ?> build) throws AbortException {
            HostAddress from = hostArgument("from", step.from);
            HostAddress to = hostArgument("to", step.to);
            MigrationSpec spec = MigrationSpec.builder(from, to, step.pid)
                    .imagesDir(step.imagesDir)
                    .tmpfsSize(step.tmpfsSize)
                    .tcpEstablished(step.tcpEstablished)
                    .shellJob(step.shellJob)
                    .dryRun(step.dryRun)
                    .timeout(timeoutArgument(step.timeout))
                    .tls(step.tls)
                    .pageServerAddress(step.pageServerAddress)
                    .pageStream(PageStream.of(step.pageTransport, step.compress, step.maxRate))
                    .build();
            return new Call<>(engine -> engine.migrate(spec), new MigrationRecord(from.toString(), step.pid, to.toString()));
        }

        @Override
        protected Object succeeded(MigrationReport report, MigrationRecord record, PrintStream log) {
            record.setMemory(report.frozenMillis(), report.pages(), report.bytes(), report.megabytesPerSecond());
            record.restored(report.to(), report.restoredPid());
            record.finish(report.dryRun() ? Messages.Record_DryRun() : Messages.Record_Migrated(), false, false);
            log.print(report.toText());
            return report.toMap();
        }
    }

    @Extension
    public static final class DescriptorImpl extends CriuStepDescriptor {
        @Override
        public String getFunctionName() {
            return "criuMigrate";
        }

        @NonNull
        @Override
        public String getDisplayName() {
            return Messages.CriuMigrateStep_DisplayName();
        }

        @Override
        public String argumentsToString(@NonNull Map<String, Object> namedArgs) {
            return namedArgs.get("from") instanceof CharSequence from && namedArgs.get("to") instanceof CharSequence to
                    ? Messages.CriuMigrateStep_Arguments(String.valueOf(namedArgs.get("pid")), from, to)
                    : null;
        }

        public FormValidation doCheckFrom(@QueryParameter String value) {
            return checkHost(value);
        }

        public FormValidation doCheckTo(@QueryParameter String value) {
            return checkHost(value);
        }

        public FormValidation doCheckPid(@QueryParameter int value) {
            return checkPid(value);
        }

        public FormValidation doCheckTimeout(@QueryParameter int value) {
            return checkTimeout(value);
        }
    }
}
