package dev.criumigration.jenkins;

import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageServerSpec;
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
 * {@code criuPageServer}: starts a CRIU page server on a tmpfs on the destination and returns a map
 * describing it, for {@code criuDump}'s {@code pageServer} argument.
 */
public final class CriuPageServerStep extends CriuStep {
    private final String host;
    private String imagesDir;
    private String tmpfsSize;
    private int port;
    private String address;
    private int timeout;
    private boolean tls = true;
    private String pageTransport;

    @DataBoundConstructor
    public CriuPageServerStep(String host, String credentialsId) {
        super(credentialsId);
        this.host = Util.fixEmptyAndTrim(host);
    }

    public String getHost() {
        return host;
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

    public int getPort() {
        return port;
    }

    @DataBoundSetter
    public void setPort(int port) {
        this.port = port;
    }

    public String getAddress() {
        return address;
    }

    @DataBoundSetter
    public void setAddress(String address) {
        this.address = Util.fixEmptyAndTrim(address);
    }

    public int getTimeout() {
        return timeout;
    }

    @DataBoundSetter
    public void setTimeout(int timeout) {
        this.timeout = timeout;
    }

    /** Whether the page stream is encrypted with TLS; {@code tls: false} is the explicit opt-out. */
    public boolean isTls() {
        return tls;
    }

    @DataBoundSetter
    public void setTls(boolean tls) {
        this.tls = tls;
    }

    /** "relay" (null: the default, the agents' relay) or "criu" (CRIU's own page server); criuDump follows. */
    public String getPageTransport() {
        return pageTransport;
    }

    @DataBoundSetter
    public void setPageTransport(String pageTransport) {
        this.pageTransport = Util.fixEmptyAndTrim(pageTransport);
    }

    @Override
    public StepExecution start(StepContext context) {
        return new Execution(this, context);
    }

    private static final class Execution extends EngineStepExecution<PageServerInfo> {
        private static final long serialVersionUID = 1L;
        private final transient CriuPageServerStep step;

        Execution(CriuPageServerStep step, StepContext context) {
            super(step, context);
            this.step = step;
        }

        @Override
        protected Call<PageServerInfo> prepare(Run<?, ?> build) throws AbortException {
            HostAddress destination = hostArgument("host", step.host);
            PageServerSpec spec = PageServerSpec.builder()
                    .imagesDir(step.imagesDir)
                    .tmpfsSize(step.tmpfsSize)
                    .address(step.address)
                    .port(step.port)
                    .timeout(timeoutArgument(step.timeout))
                    .tls(step.tls)
                    .transport(PageStream.of(step.pageTransport, false, null).transport())
                    .build();
            // Not a migration yet: the report shows it once criuDump has dumped into it.
            return new Call<>(engine -> engine.startPageServer(destination, spec), null);
        }

        @Override
        protected Object succeeded(PageServerInfo server, MigrationRecord none, PrintStream log) {
            log.println(server.tmpfsMounted()
                    ? Messages.CriuPageServerStep_SummaryTmpfs(server.host(), server.address(),
                            String.valueOf(server.port()), String.valueOf(server.pid()), server.imagesDir(),
                            server.tmpfsSize())
                    : Messages.CriuPageServerStep_Summary(server.host(), server.address(),
                            String.valueOf(server.port()), String.valueOf(server.pid()), server.imagesDir()));
            return server.toMap();
        }
    }

    @Extension
    public static final class DescriptorImpl extends CriuStepDescriptor {
        @Override
        public String getFunctionName() {
            return "criuPageServer";
        }

        @NonNull
        @Override
        public String getDisplayName() {
            return Messages.CriuPageServerStep_DisplayName();
        }

        @Override
        public String argumentsToString(@NonNull Map<String, Object> namedArgs) {
            return namedArgs.get("host") instanceof CharSequence host ? host.toString() : null;
        }

        public FormValidation doCheckHost(@QueryParameter String value) {
            return checkHost(value);
        }

        public FormValidation doCheckPort(@QueryParameter int value) {
            return value >= 0 && value <= 65535 ? FormValidation.ok() : FormValidation.error(Messages.CriuPageServerStep_BadPort());
        }

        public FormValidation doCheckTimeout(@QueryParameter int value) {
            return checkTimeout(value);
        }
    }
}
