package dev.criumigration.jenkins.hostkey;

import dev.criumigration.jenkins.Messages;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.ssh.HostKeyPolicy;
import edu.umd.cs.findbugs.annotations.NonNull;
import hudson.Extension;
import hudson.Util;
import hudson.model.TaskListener;
import hudson.util.FormValidation;
import java.util.Objects;
import org.jenkinsci.Symbol;
import org.kohsuke.stapler.DataBoundConstructor;
import org.kohsuke.stapler.QueryParameter;

/**
 * Trusts exactly the host key(s) given here: public key lines ({@code ssh-ed25519 AAAA...}) or
 * known_hosts lines ({@code host ssh-ed25519 AAAA...}) that limit a key to the hosts named.
 */
public final class ManuallyProvidedKeyVerification extends HostKeyVerification {
    private final String key;

    @DataBoundConstructor
    public ManuallyProvidedKeyVerification(String key) {
        this.key = Util.fixEmptyAndTrim(key);
    }

    public String getKey() {
        return key;
    }

    @Override
    public HostKeyPolicy toPolicy(TaskListener listener) {
        HostKeyPolicy policy = HostKeyPolicy.explicitKey(key);
        listener.getLogger().println(Messages.ManuallyProvidedKeyVerification_Using(policy));
        return policy;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ManuallyProvidedKeyVerification that && Objects.equals(key, that.key);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(key);
    }

    @Extension(ordinal = 2)
    @Symbol("manuallyProvidedKey")
    public static final class DescriptorImpl extends HostKeyVerificationDescriptor {
        @NonNull
        @Override
        public String getDisplayName() {
            return Messages.ManuallyProvidedKeyVerification_DisplayName();
        }

        /** Parses the key lines as the step will; no I/O, so no permission or POST is needed. */
        public FormValidation doCheckKey(@QueryParameter String value) {
            try {
                HostKeyPolicy.explicitKey(value);
                return FormValidation.ok();
            } catch (UsageException e) {
                return FormValidation.error(e.getMessage());
            }
        }
    }
}
