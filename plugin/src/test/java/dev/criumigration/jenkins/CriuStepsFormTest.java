package dev.criumigration.jenkins;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey;
import com.cloudbees.plugins.credentials.CredentialsScope;
import com.cloudbees.plugins.credentials.SystemCredentialsProvider;
import com.cloudbees.plugins.credentials.impl.UsernamePasswordCredentialsImpl;
import dev.criumigration.jenkins.hostkey.AcceptAnyHostKeyVerification;
import dev.criumigration.jenkins.hostkey.KnownHostsFileVerification;
import dev.criumigration.jenkins.hostkey.ManuallyProvidedKeyVerification;
import hudson.model.Result;
import hudson.util.ListBoxModel;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition;
import org.jenkinsci.plugins.workflow.cps.SnippetizerTester;
import org.jenkinsci.plugins.workflow.job.WorkflowJob;
import org.jenkinsci.plugins.workflow.job.WorkflowRun;
import org.jenkinsci.plugins.workflow.steps.Step;
import org.jenkinsci.plugins.workflow.steps.StepConfigTester;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.jvnet.hudson.test.JenkinsRule;
import org.jvnet.hudson.test.junit.jupiter.WithJenkins;

/**
 * What the steps look like to Pipeline authors, without any host: the snippet generator's output
 * and its parse back, the forms, the Pipeline reference, the credentials list, and mistakes in the
 * arguments reported as messages (no stack trace) before any host is contacted.
 */
@WithJenkins
class CriuStepsFormTest {
    private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    private JenkinsRule r;

    @BeforeEach
    void setUp(JenkinsRule rule) {
        r = rule;
    }

    @Test
    void snippetsRoundTrip() throws Exception {
        SnippetizerTester snippets = new SnippetizerTester(r);

        snippets.assertRoundTrip(new CriuMigrateStep("old.example.com", "root@new.example.com:2222", "criu-ssh", 4242),
                "criuMigrate credentialsId: 'criu-ssh', from: 'old.example.com', pid: 4242, "
                        + "to: 'root@new.example.com:2222'");
        CriuMigrateStep migrate = new CriuMigrateStep("a.example.com", "b.example.com", "criu-ssh", 4242);
        migrate.setAgentDir("/opt/criu-agent");
        migrate.setDryRun(true);
        migrate.setHostKeyVerification(new ManuallyProvidedKeyVerification(KEY));
        migrate.setImagesDir("/srv/criu");
        migrate.setPageServerAddress("10.0.0.2");
        migrate.setShellJob(true);
        migrate.setSudo(true);
        migrate.setTcpEstablished(true);
        migrate.setTimeout(600);
        migrate.setTls(false);
        migrate.setTmpfsSize("2G");
        snippets.assertRoundTrip(migrate, "criuMigrate agentDir: '/opt/criu-agent', credentialsId: 'criu-ssh', "
                + "dryRun: true, from: 'a.example.com', hostKeyVerification: manuallyProvidedKey('" + KEY + "'), "
                + "imagesDir: '/srv/criu', pageServerAddress: '10.0.0.2', pid: 4242, shellJob: true, sudo: true, "
                + "tcpEstablished: true, timeout: 600, tls: false, tmpfsSize: '2G', to: 'b.example.com'");

        CriuPageServerStep pageServer = new CriuPageServerStep("dest.example.com", "criu-ssh");
        pageServer.setAddress("10.0.0.2");
        pageServer.setPort(2400);
        pageServer.setTmpfsSize("512M");
        KnownHostsFileVerification knownHosts = new KnownHostsFileVerification();
        knownHosts.setPath("/var/lib/jenkins/criu_known_hosts");
        pageServer.setHostKeyVerification(knownHosts);
        snippets.assertRoundTrip(pageServer, "criuPageServer address: '10.0.0.2', credentialsId: 'criu-ssh', "
                + "host: 'dest.example.com', hostKeyVerification: knownHostsFile(path: "
                + "'/var/lib/jenkins/criu_known_hosts'), port: 2400, tmpfsSize: '512M'");

        Map<String, Object> pageServerMap = new LinkedHashMap<>();
        pageServerMap.put("host", "dest.example.com");
        pageServerMap.put("address", "10.0.0.2");
        pageServerMap.put("port", 2400);
        CriuDumpStep dump = new CriuDumpStep("src.example.com", "criu-ssh", 4242, pageServerMap);
        dump.setLeaveStopped(false);
        dump.setHostKeyVerification(new AcceptAnyHostKeyVerification());
        snippets.assertRoundTrip(dump, "criuDump credentialsId: 'criu-ssh', host: 'src.example.com', "
                + "hostKeyVerification: acceptAnyHostKey(), leaveStopped: false, "
                + "pageServer: [host: 'dest.example.com', address: '10.0.0.2', port: 2400], pid: 4242");

        Map<String, Object> dumpMap = new LinkedHashMap<>();
        dumpMap.put("source", "src.example.com");
        dumpMap.put("pid", 4242);
        dumpMap.put("pageServer", pageServerMap);
        CriuRestoreStep restore = new CriuRestoreStep("dest.example.com", "criu-ssh", dumpMap);
        restore.setKillSource(false);
        snippets.assertRoundTrip(restore, "criuRestore credentialsId: 'criu-ssh', dump: [source: 'src.example.com', "
                + "pid: 4242, pageServer: [host: 'dest.example.com', address: '10.0.0.2', port: 2400]], "
                + "host: 'dest.example.com', killSource: false");
    }

    @Test
    void formsRoundTrip() throws Exception {
        StepConfigTester forms = new StepConfigTester(r);

        CriuMigrateStep migrate = new CriuMigrateStep("a.example.com", "b.example.com", "criu-ssh", 4242);
        migrate.setTcpEstablished(true);
        migrate.setTmpfsSize("1G");
        migrate.setTimeout(300);
        migrate.setAgentDir("/opt/criu-agent");
        migrate.setHostKeyVerification(new ManuallyProvidedKeyVerification(KEY));
        assertRoundTrips(forms, migrate);

        CriuPageServerStep pageServer = new CriuPageServerStep("dest.example.com", "criu-ssh");
        pageServer.setImagesDir("/srv/criu/pages");
        pageServer.setPort(2400);
        pageServer.setAddress("10.0.0.2");
        KnownHostsFileVerification knownHosts = new KnownHostsFileVerification();
        knownHosts.setPath("/var/lib/jenkins/criu_known_hosts");
        pageServer.setHostKeyVerification(knownHosts);
        assertRoundTrips(forms, pageServer);

        // The maps cannot be in a form: they come from the previous step's return value.
        CriuDumpStep dump = new CriuDumpStep("src.example.com", "criu-ssh", 4242, null);
        dump.setLeaveStopped(false);
        dump.setShellJob(true);
        dump.setSudo(true);
        assertRoundTrips(forms, dump);

        CriuRestoreStep restore = new CriuRestoreStep("dest.example.com", "criu-ssh", null);
        restore.setKillSource(false);
        restore.setHostKeyVerification(new AcceptAnyHostKeyVerification());
        assertRoundTrips(forms, restore);
    }

    private void assertRoundTrips(StepConfigTester forms, Step step) throws Exception {
        r.assertEqualDataBoundBeans(step, forms.configRoundTrip(step));
    }

    @Test
    void thePipelineReferenceDescribesEveryParameter() throws Exception {
        for (Class<? extends Step> step : List.of(CriuPageServerStep.class, CriuDumpStep.class, CriuRestoreStep.class,
                CriuMigrateStep.class)) {
            SnippetizerTester.assertDocGeneration(step);
        }
    }

    @Test
    void theCredentialsListOffersSshKeysOnly() throws Exception {
        SystemCredentialsProvider.getInstance().getCredentials().add(new BasicSSHUserPrivateKey(CredentialsScope.GLOBAL,
                "criu-ssh", "root", new BasicSSHUserPrivateKey.DirectEntryPrivateKeySource("not used here"), null, ""));
        SystemCredentialsProvider.getInstance().getCredentials().add(
                new UsernamePasswordCredentialsImpl(CredentialsScope.GLOBAL, "a-password", "", "root", "secret"));
        WorkflowJob job = r.createProject(WorkflowJob.class);

        ListBoxModel offered = r.jenkins.getDescriptorByType(CriuMigrateStep.DescriptorImpl.class)
                .doFillCredentialsIdItems(job, "");

        List<String> ids = offered.stream().map(option -> option.value).toList();
        assertThat(ids, hasItem("criu-ssh"));
        assertThat(ids, not(hasItem("a-password")));
    }

    @Test
    void mistakesInTheArgumentsAreMessagesWithoutStackTraces() throws Exception {
        assertFailsWith("criuMigrate from: 'not a host!', to: 'b.example.com', credentialsId: 'criu-ssh', pid: 4242",
                "from: 'not a host!' is not a valid host name or address");
        assertFailsWith("criuMigrate from: 'a.example.com', to: 'b.example.com', credentialsId: 'nope', pid: 4242",
                Messages.CriuStep_CredentialsNotFound("nope"));
        assertFailsWith("criuMigrate from: 'a.example.com', to: 'b.example.com', credentialsId: 'criu-ssh', pid: 1",
                "pid 1 cannot be migrated");
        assertFailsWith("criuMigrate from: 'a.example.com', to: 'b.example.com', credentialsId: 'criu-ssh', pid: 4242, "
                + "pageServerAddress: '0.0.0.0'", "would listen on every interface");
        assertFailsWith("criuDump host: 'src.example.com', credentialsId: 'criu-ssh', pid: 4242",
                Messages.CriuDumpStep_NoPageServer());
        assertFailsWith("criuRestore host: 'dest.example.com', credentialsId: 'criu-ssh', dump: [source: 'src.example.com']",
                "the dump map has no 'pid'");
        assertFailsWith("criuPageServer host: 'dest.example.com', credentialsId: 'criu-ssh', tmpfsSize: 'lots'",
                "tmpfsSize 'lots' is not a size");
    }

    private void assertFailsWith(String script, String message) throws Exception {
        WorkflowJob job = r.createProject(WorkflowJob.class);
        job.setDefinition(new CpsFlowDefinition(script, true));
        WorkflowRun b = r.buildAndAssertStatus(Result.FAILURE, job);
        r.assertLogContains(message, b);
        r.assertLogNotContains("\tat ", b);
        assertNull(b.getAction(MigrationReportAction.class), "nothing reached a host, nothing to report");
    }
}
