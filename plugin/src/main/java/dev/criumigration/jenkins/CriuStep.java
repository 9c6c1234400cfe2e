package dev.criumigration.jenkins;

import com.cloudbees.jenkins.plugins.sshcredentials.SSHUserPrivateKey;
import com.cloudbees.plugins.credentials.CredentialsProvider;
import dev.criumigration.jenkins.hostkey.HostKeyVerification;
import dev.criumigration.jenkins.hostkey.KnownHostsFileVerification;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.migration.ssh.SshIdentity;
import hudson.AbortException;
import hudson.Util;
import hudson.model.Run;
import hudson.model.TaskListener;
import hudson.util.Secret;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.jenkinsci.plugins.workflow.steps.Step;
import org.kohsuke.stapler.DataBoundSetter;

/**
 * What every CRIU step has: the SSH credentials it logs in with, how it trusts host keys, whether
 * the agent runs through sudo and where it is installed. The migration logic lives in the engine.
 */
public abstract class CriuStep extends Step {
    private final String credentialsId;
    private HostKeyVerification hostKeyVerification = new KnownHostsFileVerification();
    private boolean sudo;
    private String agentDir;
    private String agentSocket;

    protected CriuStep(String credentialsId) {
        this.credentialsId = Util.fixEmptyAndTrim(credentialsId);
    }

    public String getCredentialsId() {
        return credentialsId;
    }

    public HostKeyVerification getHostKeyVerification() {
        return hostKeyVerification;
    }

    @DataBoundSetter
    public void setHostKeyVerification(HostKeyVerification hostKeyVerification) {
        this.hostKeyVerification =
                hostKeyVerification == null ? new KnownHostsFileVerification() : hostKeyVerification;
    }

    public boolean isSudo() {
        return sudo;
    }

    @DataBoundSetter
    public void setSudo(boolean sudo) {
        this.sudo = sudo;
    }

    /** Where the agent jar goes on the hosts; null for the engine's default. */
    public String getAgentDir() {
        return agentDir;
    }

    @DataBoundSetter
    public void setAgentDir(String agentDir) {
        this.agentDir = Util.fixEmptyAndTrim(agentDir);
    }

    /** Where the hosts' warm agent daemon listens; null for the engine's default. */
    public String getAgentSocket() {
        return agentSocket;
    }

    @DataBoundSetter
    public void setAgentSocket(String agentSocket) {
        this.agentSocket = Util.fixEmptyAndTrim(agentSocket);
    }

    /**
     * SSH settings for this step: the credential's user and private keys (tracked as used by the
     * build), the host-key strategy, sudo. Key text and passphrase go to the engine only.
     */
    SshSettings sshSettings(Run<?, ?> run, TaskListener listener) throws AbortException {
        if (credentialsId == null) {
            throw new AbortException(Messages.CriuStep_NoCredentialsId());
        }
        SSHUserPrivateKey credentials =
                CredentialsProvider.findCredentialById(credentialsId, SSHUserPrivateKey.class, run, List.of());
        if (credentials == null) {
            throw new AbortException(Messages.CriuStep_CredentialsNotFound(credentialsId));
        }
        CredentialsProvider.track(run, credentials);
        String user = Util.fixEmptyAndTrim(credentials.getUsername());
        List<String> keys = credentials.getPrivateKeys();
        if (user == null || keys.isEmpty()) {
            throw new AbortException(Messages.CriuStep_IncompleteCredentials(credentialsId));
        }
        SshSettings.Builder settings = SshSettings.builder()
                .defaultUser(user)
                .hostKeyPolicy(hostKeyVerification.toPolicy(listener))
                .useSudo(sudo);
        if (agentDir != null) {
            settings.agentDir(agentDir);
        }
        if (agentSocket != null) {
            settings.agentSocket(agentSocket);
        }
        Secret passphrase = credentials.getPassphrase();
        char[] passphraseChars = passphrase == null ? null : passphrase.getPlainText().toCharArray();
        try {
            for (String key : keys) {
                settings.identity(SshIdentity.fromText(user, key, passphraseChars));
            }
        } finally {
            if (passphraseChars != null) {
                Arrays.fill(passphraseChars, '\0'); // the identities keep their own copies
            }
        }
        listener.getLogger().println(Messages.CriuStep_LoggingInAs(user, credentialsId));
        return settings.build();
    }

    /** Parses a {@code [user@]host[:port]} argument; a mistake names the parameter. */
    static HostAddress hostArgument(String parameter, String value) throws AbortException {
        try {
            return HostAddress.parse(value);
        } catch (UsageException e) {
            throw new AbortException(Messages.CriuStep_BadHost(parameter, e.getMessage()));
        }
    }

    /** A timeout argument in seconds; 0 leaves the engine's default. */
    static Duration timeoutArgument(int seconds) throws AbortException {
        if (seconds < 0) {
            throw new AbortException(Messages.CriuStep_BadTimeout());
        }
        return seconds == 0 ? null : Duration.ofSeconds(seconds);
    }
}
