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
    private String path;

    @DataBoundConstructor
    public KnownHostsFileVerification() {}

    /** The file's path on the controller; null for {@code ~/.ssh/known_hosts} of the Jenkins user. */
    public String getPath() {
        return path;
    }

    @DataBoundSetter
    public void setPath(String path) {
        this.path = Util.fixEmptyAndTrim(path);
    }

    @Override
    public HostKeyPolicy toPolicy(TaskListener listener) {
        HostKeyPolicy policy =
                path == null ? HostKeyPolicy.defaultKnownHosts() : HostKeyPolicy.knownHosts(Path.of(path));
        listener.getLogger().println(Messages.KnownHostsFileVerification_Using(policy));
        return policy;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof KnownHostsFileVerification that && Objects.equals(path, that.path);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(path);
    }

    @Extension(ordinal = 3) // first in the form's list: the default
    @Symbol("knownHostsFile")
    public static final class DescriptorImpl extends HostKeyVerificationDescriptor {
        @NonNull
        @Override
        public String getDisplayName() {
            return Messages.KnownHostsFileVerification_DisplayName();
        }
    }
}
