package dev.criumigration.jenkins;

import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.PageServerInfo;
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
 * {@code criuDump}: dumps the process tree rooted at {@code pid} on the source, streaming its pages to
 * the page server that {@code criuPageServer} started, and returns a map with the dump's stats for
 * {@code criuRestore}'s {@code dump} argument. By default the source is left stopped.
 */
public final class CriuDumpStep extends CriuStep {
    private final String host;
    private final int pid;
    private final Object pageServer;
    private String imagesDir;
    private boolean leaveStopped = true;
    private boolean tcpEstablished;
    private boolean shellJob;
    private int timeout;

    /**
     * @param pageServer the map {@code criuPageServer} returned. Typed {@code Object} so that the
     *                   Pipeline reference documents it (as "not enumerable") instead of failing on a
     *                   generic map type; it is not in the snippet generator's form, so anything but a
     *                   map is reported when the step runs.
     */
    @DataBoundConstructor
    public CriuDumpStep(String host, String credentialsId, int pid, Object pageServer) {
        super(credentialsId);
        this.host = Util.fixEmptyAndTrim(host);
        this.pid = pid;
        this.pageServer = pageServer instanceof Map<?, ?> map ? new LinkedHashMap<>(map) : pageServer;
    }

    public String getHost() {
        return host;
    }

    public int getPid() {
        return pid;
    }

    public Object getPageServer() {
        return pageServer;
    }

    public String getImagesDir() {
        return imagesDir;
    }

    @DataBoundSetter
    public void setImagesDir(String imagesDir) {
        this.imagesDir = Util.fixEmptyAndTrim(imagesDir);
    }

    public boolean isLeaveStopped() {
        return leaveStopped;
    }

    @DataBoundSetter
    public void setLeaveStopped(boolean leaveStopped) {
        this.leaveStopped = leaveStopped;
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

    private static final class Execution extends EngineStepExecution<DumpInfo> {
        private static final long serialVersionUID = 1L;
        private final transient CriuDumpStep step;

        Execution(CriuDumpStep step, StepContext context) {
            super(step, context);
            this.step = step;
        }

        @Override
        protected Call<DumpInfo> prepare(Run<?, ?> build) throws AbortException {
            HostAddress source = hostArgument("host", step.host);
            if (!(step.pageServer instanceof Map<?, ?> pageServerMap)) {
                throw new AbortException(Messages.CriuDumpStep_NoPageServer());
            }
            PageServerInfo pageServer = PageServerInfo.fromMap(pageServerMap);
            DumpSpec spec = DumpSpec.builder(step.pid)
                    .imagesDir(step.imagesDir)
                    .leaveStopped(step.leaveStopped)
                    .tcpEstablished(step.tcpEstablished)
                    .shellJob(step.shellJob)
                    .timeout(timeoutArgument(step.timeout))
                    .build();
            return new Call<>(engine -> engine.dump(source, spec, pageServer),
                    new MigrationRecord(source.toString(), step.pid, pageServer.host()));
        }

        @Override
        protected Object succeeded(DumpInfo dump, MigrationRecord record, PrintStream log) {
            record.setMemory(dump.frozenMillis(), dump.pages(), dump.bytes(), dump.megabytesPerSecond());
            record.finish(dump.leftStopped() ? Messages.Record_AwaitingRestore() : Messages.Record_DumpedAndResumed(),
                    false, dump.leftStopped());
            log.println(Messages.CriuDumpStep_Summary(String.valueOf(dump.pid()), dump.source(),
                    dump.processes(), dump.pages(), record.getMemory(), record.getMegabytesPerSecond(),
                    record.getFrozen(), dump.pageServer().host()));
            log.println(dump.leftStopped() ? Messages.CriuDumpStep_LeftStopped() : Messages.CriuDumpStep_Resumed());
            return dump.toMap();
        }
    }

    @Extension
    public static final class DescriptorImpl extends CriuStepDescriptor {
        @Override
        public String getFunctionName() {
            return "criuDump";
        }

        @NonNull
        @Override
        public String getDisplayName() {
            return Messages.CriuDumpStep_DisplayName();
        }

        @Override
        public String argumentsToString(@NonNull Map<String, Object> namedArgs) {
            return namedArgs.get("host") instanceof CharSequence host
                    ? Messages.CriuDumpStep_Arguments(String.valueOf(namedArgs.get("pid")), host)
                    : null;
        }

        public FormValidation doCheckHost(@QueryParameter String value) {
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
