package dev.criumigration.jenkins;

import com.cloudbees.jenkins.plugins.sshcredentials.SSHUserPrivateKey;
import com.cloudbees.plugins.credentials.CredentialsMatchers;
import com.cloudbees.plugins.credentials.CredentialsProvider;
import com.cloudbees.plugins.credentials.common.StandardListBoxModel;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.ssh.HostAddress;
import hudson.Util;
import hudson.model.Item;
import hudson.model.Queue;
import hudson.model.Run;
import hudson.model.TaskListener;
import hudson.model.queue.Tasks;
import hudson.security.ACL;
import hudson.util.FormValidation;
import hudson.util.ListBoxModel;
import java.util.List;
import java.util.Set;
import jenkins.model.Jenkins;
import org.jenkinsci.plugins.workflow.steps.StepDescriptor;
import org.kohsuke.stapler.AncestorInPath;
import org.kohsuke.stapler.QueryParameter;
import org.kohsuke.stapler.verb.POST;

/**
 * Shared by the CRIU steps' descriptors: the context they need, the credentials list of the snippet
 * generator and the form checks of the fields they have in common.
 */
public abstract class CriuStepDescriptor extends StepDescriptor {

    @Override
    public Set<? extends Class<?>> getRequiredContext() {
        return Set.of(Run.class, TaskListener.class);
    }

    /** "SSH Username with private key" credentials the job may use, as the Credentials plugin advises. */
    public ListBoxModel doFillCredentialsIdItems(@AncestorInPath Item item, @QueryParameter String credentialsId) {
        StandardListBoxModel result = new StandardListBoxModel();
        if (!mayListCredentials(item)) {
            return result.includeCurrentValue(credentialsId);
        }
        result.includeEmptyValue();
        if (item == null) {
            result.includeMatchingAs(ACL.SYSTEM2, Jenkins.get(), SSHUserPrivateKey.class, List.of(),
                    CredentialsMatchers.always());
        } else {
            result.includeMatchingAs(item instanceof Queue.Task task ? Tasks.getAuthenticationOf2(task) : ACL.SYSTEM2,
                    item, SSHUserPrivateKey.class, List.of(), CredentialsMatchers.always());
        }
        return result.includeCurrentValue(credentialsId);
    }

    @POST
    public FormValidation doCheckCredentialsId(@AncestorInPath Item item, @QueryParameter String value) {
        if (!mayListCredentials(item)) {
            return FormValidation.ok();
        }
        if (Util.fixEmptyAndTrim(value) == null) {
            return FormValidation.error(Messages.CriuStep_NoCredentialsId());
        }
        ListBoxModel found = item == null
                ? CredentialsProvider.listCredentialsInItemGroup(SSHUserPrivateKey.class, Jenkins.get(), ACL.SYSTEM2,
                        List.of(), CredentialsMatchers.withId(value))
                : CredentialsProvider.listCredentialsInItem(SSHUserPrivateKey.class, item,
                        item instanceof Queue.Task task ? Tasks.getAuthenticationOf2(task) : ACL.SYSTEM2,
                        List.of(), CredentialsMatchers.withId(value));
        return found.isEmpty() ? FormValidation.error(Messages.CriuStep_CredentialsNotFound(value)) : FormValidation.ok();
    }

    /** Checks a {@code [user@]host[:port]} field the way the step will parse it. */
    static FormValidation checkHost(String value) {
        try {
            HostAddress.parse(value);
            return FormValidation.ok();
        } catch (UsageException e) {
            return FormValidation.error(e.getMessage());
        }
    }

    static FormValidation checkPid(int value) {
        return value > 1 ? FormValidation.ok() : FormValidation.error(Messages.CriuStep_BadPid());
    }

    static FormValidation checkTimeout(int value) {
        return value >= 0 ? FormValidation.ok() : FormValidation.error(Messages.CriuStep_BadTimeout());
    }

    private static boolean mayListCredentials(Item item) {
        return item == null
                ? Jenkins.get().hasPermission(Jenkins.ADMINISTER)
                : item.hasPermission(Item.EXTENDED_READ) || item.hasPermission(CredentialsProvider.USE_ITEM);
    }
}
