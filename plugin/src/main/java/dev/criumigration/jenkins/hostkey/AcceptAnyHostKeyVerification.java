package dev.criumigration.jenkins.hostkey;

import dev.criumigration.jenkins.Messages;
import dev.criumigration.migration.ssh.HostKeyPolicy;
import edu.umd.cs.findbugs.annotations.NonNull;
import hudson.Extension;
import hudson.model.TaskListener;
import org.jenkinsci.Symbol;
import org.kohsuke.stapler.DataBoundConstructor;

/**
 * Trusts every host key. Anyone on the network path can then pose as the host and receive the
 * process's memory, so every use says so in the build log.
 */
public final class AcceptAnyHostKeyVerification extends HostKeyVerification {

    @DataBoundConstructor
    public AcceptAnyHostKeyVerification() {}

    @Override
    public HostKeyPolicy toPolicy(TaskListener listener) {
        listener.getLogger().println(Messages.AcceptAnyHostKeyVerification_Warning());
        return HostKeyPolicy.acceptAny();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof AcceptAnyHostKeyVerification;
    }

    @Override
    public int hashCode() {
        return AcceptAnyHostKeyVerification.class.hashCode();
    }

    @Extension(ordinal = 1) // last in the form's list
    @Symbol("acceptAnyHostKey")
    public static final class DescriptorImpl extends HostKeyVerificationDescriptor {
        @NonNull
        @Override
        public String getDisplayName() {
            return Messages.AcceptAnyHostKeyVerification_DisplayName();
        }
    }
}
