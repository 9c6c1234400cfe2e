package dev.criumigration.jenkins.hostkey;

import dev.criumigration.migration.ssh.HostKeyPolicy;
import hudson.model.Describable;
import hudson.model.Descriptor;
import hudson.model.TaskListener;

/**
 * How a step trusts the SSH host keys of the hosts it logs in to, chosen per step in the manner of
 * Jenkins' SSH agents. An unknown or changed key stops the step before anything is sent.
 */
public abstract class HostKeyVerification implements Describable<HostKeyVerification> {

    /**
     * The engine's policy for this strategy. Called on the controller before connecting; may write a
     * line about the choice (never a secret) to the build log.
     */
    public abstract HostKeyPolicy toPolicy(TaskListener listener);

    /** Base of the strategies' descriptors, so that the step forms list exactly these. */
    public abstract static class HostKeyVerificationDescriptor extends Descriptor<HostKeyVerification> {}
}
