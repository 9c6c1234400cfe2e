package dev.criumigration.jenkins.hostkey;

import dev.criumigration.jenkins.Messages;
import dev.criumigration.migration.ssh.HostKeyPolicy;
import edu.umd.cs.findbugs.annotations.NonNull;
import hudson.Extension;
import hudson.Util;
import hudson.model.TaskListener;
import java.nio.file.Path;
import java.util.Objects;
import org.jenkinsci.Symbol;
import org.kohsuke.stapler.DataBoundConstructor;
import org.kohsuke.stapler.DataBoundSetter;

/**
 * Trusts the keys listed for the host in an OpenSSH {@code known_hosts} file on the controller. The
 * default: {@code ~/.ssh/known_hosts} of the user running Jenkins.
 */
public final class KnownHostsFileVerification extends HostKeyVerification {
    private String knownHostsFile;

    @DataBoundConstructor
    public KnownHostsFileVerification() {}

    /** The file's path on the controller; empty for {@code ~/.ssh/known_hosts} of the Jenkins user. */
    public String getKnownHostsFile() {
        return knownHostsFile;
    }

    @DataBoundSetter
    public void setKnownHostsFile(String knownHostsFile) {
        this.knownHostsFile = Util.fixEmptyAndTrim(knownHostsFile);
    }

    @Override
    public HostKeyPolicy toPolicy(TaskListener listener) {
        HostKeyPolicy policy =
                knownHostsFile == null ? HostKeyPolicy.defaultKnownHosts() : HostKeyPolicy.knownHosts(Path.of(knownHostsFile));
        listener.getLogger().println(Messages.KnownHostsFileVerification_Using(policy));
        return policy;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof KnownHostsFileVerification that && Objects.equals(knownHostsFile, that.knownHostsFile);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(knownHostsFile);
    }

    @Extension
    @Symbol("knownHostsFile")
    public static final class DescriptorImpl extends HostKeyVerificationDescriptor {
        @NonNull
        @Override
        public String getDisplayName() {
            return Messages.KnownHostsFileVerification_DisplayName();
        }
    }
}
