package dev.criumigration.jenkins;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.cloudbees.jenkins.plugins.sshcredentials.impl.BasicSSHUserPrivateKey;
import com.cloudbees.plugins.credentials.CredentialsProvider;
import com.cloudbees.plugins.credentials.CredentialsScope;
import com.cloudbees.plugins.credentials.SystemCredentialsProvider;
import dev.criumigration.migration.Gate;
import dev.criumigration.migration.it.Workload;
import dev.criumigration.migration.ssh.ClientKeys;
import dev.criumigration.migration.ssh.SshdHost;
import hudson.model.Fingerprint;
import hudson.model.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.jenkinsci.plugins.workflow.cps.CpsFlowDefinition;
import org.jenkinsci.plugins.workflow.job.WorkflowJob;
import org.jenkinsci.plugins.workflow.job.WorkflowRun;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.jvnet.hudson.test.JenkinsRule;
import org.jvnet.hudson.test.junit.jupiter.BuildWatcherExtension;
import org.jvnet.hudson.test.junit.jupiter.WithJenkins;

/**
 * The steps in real (sandboxed) Pipelines against two real OpenSSH sshd "hosts" on loopback, moving
 * the shared stateful workload with real CRIU (see PLATFORM.md: one kernel, workloads in their own
 * PID namespaces). Needs root, sshd and CRIU: skipped without them, failing under CI=true.
 */
@WithJenkins
class CriuStepsPipelineTest {
    @RegisterExtension
    static final BuildWatcherExtension BUILD_WATCHER = new BuildWatcherExtension();

    private static final String CREDENTIALS_ID = "criu-ssh";

    private static ClientKeys keys;
    private static SshdHost source;
    private static SshdHost destination;
    private static Path stateDir;
    private static Path knownHosts;
    private static Path agentDir;

    private JenkinsRule r;
    private Path imagesRoot;
    private final List<Workload> workloads = new ArrayList<>();

    @BeforeAll
    static void startHosts() throws Exception {
        Gate.requireCriu();
        keys = ClientKeys.generate();
        source = SshdHost.start("source", keys);
        destination = SshdHost.start("destination", keys);
        stateDir = Files.createTempDirectory("criu-plugin-it-");
        knownHosts = stateDir.resolve("known_hosts");
        Files.writeString(knownHosts, source.knownHostsLine() + "\n" + destination.knownHostsLine() + "\n");
        agentDir = stateDir.resolve("agent");
    }

    @AfterAll
    static void stopHosts() throws Exception {
        if (destination != null) {
            destination.close();
        }
        if (source != null) {
            source.close();
        }
        if (keys != null) {
            keys.close();
        }
        if (stateDir != null) {
            try (Stream<Path> paths = Files.walk(stateDir)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(path);
                }
            }
        }
    }

    @BeforeEach
    void setUp(JenkinsRule rule) throws Exception {
        r = rule;
        imagesRoot = Files.createTempDirectory(stateDir, "images-");
        addCredentials(CREDENTIALS_ID, ClientKeys.Kind.ED25519_OPENSSH);
    }

    @AfterEach
    void stopWorkloads() throws Exception {
        for (Workload workload : workloads) {
            workload.close();
        }
    }

    @Test
    void criuMigrateMovesTheTreeWithItsStateAndReportsIt() throws Exception {
        Workload workload = workload("16M");
        Workload.Tick before = workload.lastTick();

        WorkflowRun b = r.buildAndAssertSuccess(job("""
                def report = criuMigrate from: '%s', to: '%s', pid: %d, imagesDir: '%s', %s
                echo "restoredPid=${report.restoredPid} frozenMillis=${report.frozenMillis} pages=${report.pages}"
                """.formatted(address(source), address(destination), workload.rootPid(), imagesRoot, connection())));

        int restoredPid = number(b, "restoredPid=(\\d+)");
        assertNotEquals(workload.rootPid(), restoredPid);
        assertEquals(List.of(restoredPid), workload.roots(), "only the restored copy runs; the source was killed");
        Workload.Tick after = workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20));
        assertEquals(before.checksum(), after.checksum(), "the memory came across intact");
        assertTrue(number(b, "frozenMillis=(\\d+)") > 0);
        assertTrue(number(b, "pages=(\\d+)") >= 4096, "at least the workload's 16 MiB moved");

        // Progress while it ran and the summary at the end.
        r.assertLogContains("[criu] dump...", b);
        r.assertLogContains("[criu] restore done in", b);
        r.assertLogContains("Frozen window:", b);

        MigrationRecord record = onlyRecord(b);
        assertFalse(record.isFailed());
        assertEquals(Messages.Record_Migrated(), record.getOutcome());
        assertEquals(restoredPid, record.getRestoredPid());
        assertThat(phaseNames(record), hasItems("preflight", "page-server", "dump", "copy-images",
                "page-server-status", "restore", "commit", "cleanup"));
        assertFalse(record.getFrozen().isEmpty());
        assertTrue(record.getPages() >= 4096);

        // The table on the build page and on the action's own page.
        JenkinsRule.WebClient web = r.createWebClient();
        String buildPage = web.getPage(b).asNormalizedText();
        assertThat(buildPage, containsString(Messages.MigrationReportAction_DisplayName()));
        assertThat(buildPage, containsString("page-server-status"));
        assertThat(web.getPage(b, "criu-migrations").asNormalizedText(), containsString("copy-images"));
        assertNothingLeft();
    }

    /** Also: a PID given as text (as from a build parameter) is taken as a number. */
    @Test
    void threeStepsMoveTheTreeWithTheMapsEachStepReturns() throws Exception {
        Workload workload = workload("16M");
        Workload.Tick before = workload.lastTick();

        WorkflowRun b = r.buildAndAssertSuccess(job("""
                def ps = criuPageServer host: '%s', imagesDir: '%s/pages', %s
                echo "pageServerPort=${ps.port} tmpfsMounted=${ps.tmpfsMounted}"
                def dump = criuDump host: '%s', pid: '%d', pageServer: ps, %s
                echo "leftStopped=${dump.leftStopped} dumpedPages=${dump.pages}"
                def restored = criuRestore host: '%s', dump: dump, %s
                echo "restoredPid=${restored.pid} sourceKilled=${restored.sourceKilled}"
                """.formatted(address(destination), imagesRoot, connection(), address(source), workload.rootPid(),
                connection(), address(destination), connection())));

        assertTrue(number(b, "pageServerPort=(\\d+)") > 0);
        r.assertLogContains("tmpfsMounted=true", b);
        r.assertLogContains("leftStopped=true", b);
        assertTrue(number(b, "dumpedPages=(\\d+)") >= 4096);
        r.assertLogContains("sourceKilled=true", b);
        int restoredPid = number(b, "restoredPid=(\\d+)");
        assertEquals(List.of(restoredPid), workload.roots(), "only the restored copy runs");
        Workload.Tick after = workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20));
        assertEquals(before.checksum(), after.checksum(), "the memory came across intact");

        // criuDump opened the record, criuRestore completed it: one migration in the report.
        MigrationRecord record = onlyRecord(b);
        assertEquals(Messages.Record_Migrated(), record.getOutcome());
        assertEquals(restoredPid, record.getRestoredPid());
        assertThat(phaseNames(record), hasItems("dump", "copy-images", "page-server-status", "restore"));
        assertFalse(record.getFrozen().isEmpty());
        assertNothingLeft();
    }

    @Test
    void abortingTheBuildWhileTheSourceIsFrozenResumesItAndCleansUp() throws Exception {
        Workload workload = workload("64M");
        Workload.Tick before = workload.lastTick();
        WorkflowJob job = job("criuMigrate from: '%s', to: '%s', pid: %d, imagesDir: '%s', %s".formatted(
                address(source), address(destination), workload.rootPid(), imagesRoot, connection()));

        WorkflowRun b = job.scheduleBuild2(0).waitForStart();
        List<ProcessHandle> stopped = List.of();
        try {
            // CRIU froze the tree: the dump runs. With the destination's sshd stopped, the migration
            // cannot get past the copy of the images, so the abort lands in the frozen window.
            awaitState(workload.rootPid(), CriuStepsPipelineTest::frozen, Duration.ofMinutes(2));
            stopped = stopSshSessions(destination);
            Thread.sleep(500);
            assertTrue(frozen(state(workload.rootPid())), "still frozen while the destination cannot answer");
            b.getExecutor().interrupt();
        } finally {
            for (ProcessHandle session : stopped) {
                signal(session, "CONT");
            }
        }

        r.assertBuildStatus(Result.ABORTED, r.waitForCompletion(b));
        r.assertLogContains(Messages.EngineStep_Cancelling(), b);
        r.assertLogNotContains("[criu] commit", b);
        assertEquals(List.of(workload.rootPid()), workload.roots(), "the source runs, alone");
        Workload.Tick after = workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20));
        assertEquals(before.checksum(), after.checksum(), "with its state");
        MigrationRecord record = onlyRecord(b);
        assertTrue(record.isFailed());
        assertThat(record.getOutcome(), containsString("resumed"));
        assertNothingLeft();
    }

    @Test
    void credentialsWithAPassphraseAreUsedTrackedAndNeverLogged() throws Exception {
        BasicSSHUserPrivateKey credentials = addCredentials("criu-ssh-passphrase", ClientKeys.Kind.ED25519_PASSPHRASE);
        Workload workload = workload("8M");

        WorkflowJob job = job("""
                def report = criuMigrate from: '%s', to: '%s', pid: %d, dryRun: true, imagesDir: '%s', %s
                echo "dryRun=${report.dryRun}"
                """.formatted(address(source), address(destination), workload.rootPid(), imagesRoot,
                connection().replace(CREDENTIALS_ID, "criu-ssh-passphrase")));
        WorkflowRun b = r.buildAndAssertSuccess(job);

        r.assertLogContains("dryRun=true", b);
        r.assertLogContains(Messages.CriuStep_LoggingInAs("root", "criu-ssh-passphrase"), b);
        String log = JenkinsRule.getLog(b);
        assertThat(log, not(containsString(ClientKeys.PASSPHRASE)));
        for (String keyLine : keys.privateKeyText(ClientKeys.Kind.ED25519_PASSPHRASE).lines().toList()) {
            if (!keyLine.startsWith("-----")) {
                assertThat(log, not(containsString(keyLine)));
            }
        }
        Fingerprint fingerprint = CredentialsProvider.getFingerprintOf(credentials);
        assertTrue(fingerprint != null && fingerprint.getJobs().contains(job.getFullName()),
                "the build recorded that it used the credential");
        assertEquals(List.of(workload.rootPid()), workload.roots(), "a dry run leaves the source alone");
        assertEquals(Messages.Record_DryRun(), onlyRecord(b).getOutcome());
        assertNothingLeft();
    }

    @Test
    void aKeyTheHostRefusesFailsWithAMessageAndNoStackTrace() throws Exception {
        addCredentials("criu-ssh-unknown-key", ClientKeys.Kind.UNAUTHORIZED);
        Workload workload = workload("8M");

        WorkflowRun b = r.buildAndAssertStatus(Result.FAILURE, job(
                "criuMigrate from: '%s', to: '%s', pid: %d, imagesDir: '%s', %s".formatted(address(source),
                        address(destination), workload.rootPid(), imagesRoot,
                        connection().replace(CREDENTIALS_ID, "criu-ssh-unknown-key"))));

        r.assertLogContains("SSH authentication as root on", b);
        r.assertLogNotContains("\tat dev.criumigration", b);
        r.assertLogNotContains("\tat org.apache.sshd", b);
        assertEquals(List.of(workload.rootPid()), workload.roots(), "the source was not touched");
        assertNothingLeft();
    }

    @Test
    void anUnknownHostKeyIsRefusedAndAcceptAnyHostKeySaysItIsInsecure() throws Exception {
        Workload workload = workload("8M");
        String dryRun = "criuMigrate from: '%s', to: '%s', pid: %d, dryRun: true, imagesDir: '%s', credentialsId: '%s', "
                .formatted(address(source), address(destination), workload.rootPid(), imagesRoot, CREDENTIALS_ID)
                + "agentDir: '" + agentDir + "', hostKeyVerification: ";
        Path emptyKnownHosts = Files.createTempFile(stateDir, "known_hosts", "");

        WorkflowRun refused = r.buildAndAssertStatus(Result.FAILURE,
                job(dryRun + "knownHostsFile(path: '" + emptyKnownHosts + "')"));
        r.assertLogContains("refused before anything was sent", refused);
        r.assertLogNotContains("\tat dev.criumigration", refused);

        WorkflowRun trusted = r.buildAndAssertSuccess(job(dryRun + "manuallyProvidedKey('''"
                + source.knownHostsLine() + "\n" + destination.knownHostsLine() + "''')"));
        r.assertLogContains("[criu] preflight done", trusted);

        WorkflowRun insecure = r.buildAndAssertSuccess(job(dryRun + "acceptAnyHostKey()"));
        r.assertLogContains(Messages.AcceptAnyHostKeyVerification_Warning(), insecure);
        assertNothingLeft();
    }

    // ---- fixtures --------------------------------------------------------------------------------

    private BasicSSHUserPrivateKey addCredentials(String id, ClientKeys.Kind kind) throws IOException {
        char[] passphrase = kind.passphrase();
        BasicSSHUserPrivateKey credentials = new BasicSSHUserPrivateKey(CredentialsScope.GLOBAL, id, "root",
                new BasicSSHUserPrivateKey.DirectEntryPrivateKeySource(keys.privateKeyText(kind)),
                passphrase == null ? null : new String(passphrase), "test key " + kind);
        SystemCredentialsProvider.getInstance().getCredentials().add(credentials);
        SystemCredentialsProvider.getInstance().save();
        return credentials;
    }

    /** What every step of these Pipelines needs besides its own arguments. */
    private static String connection() {
        return "credentialsId: '%s', hostKeyVerification: knownHostsFile(path: '%s'), agentDir: '%s'"
                .formatted(CREDENTIALS_ID, knownHosts, agentDir);
    }

    private static String address(SshdHost host) {
        return "root@127.0.0.1:" + host.port();
    }

    private WorkflowJob job(String script) throws IOException {
        WorkflowJob job = r.createProject(WorkflowJob.class);
        job.setDefinition(new CpsFlowDefinition(script, true));
        return job;
    }

    private Workload workload(String memory) throws Exception {
        Workload workload = Workload.start(stateDir.resolve("workload-" + System.nanoTime() + ".log"), memory, 0);
        workloads.add(workload);
        return workload;
    }

    private static int number(WorkflowRun b, String regex) throws IOException {
        Matcher m = Pattern.compile(regex).matcher(JenkinsRule.getLog(b));
        assertTrue(m.find(), "the log has " + regex);
        return Integer.parseInt(m.group(1));
    }

    private static MigrationRecord onlyRecord(WorkflowRun b) {
        MigrationReportAction action = b.getAction(MigrationReportAction.class);
        assertTrue(action != null, "the build has a migration report");
        assertEquals(1, action.getMigrations().size(), "one migration in the report");
        return action.getMigrations().get(0);
    }

    private static List<String> phaseNames(MigrationRecord record) {
        return record.getPhases().stream().map(MigrationRecord.PhaseTime::getPhase).toList();
    }

    /** The state letter of /proc/PID/stat: R, S, t (stopped by a tracer, as CRIU holds a tree), ... */
    private static char state(int pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.US_ASCII);
        return stat.charAt(stat.lastIndexOf(')') + 2);
    }

    private static boolean frozen(char state) {
        return state == 't' || state == 'T';
    }

    private static void awaitState(int pid, Predicate<Character> wanted, Duration timeout) throws Exception {
        long until = System.nanoTime() + timeout.toNanos();
        while (!wanted.test(state(pid))) {
            assertTrue(System.nanoTime() < until, "process " + pid + " never reached the state; it is " + state(pid));
            Thread.sleep(5);
        }
    }

    /** Stops the host's sshd processes (not what they run): the controller's calls to it hang. */
    private static List<ProcessHandle> stopSshSessions(SshdHost host) throws Exception {
        List<ProcessHandle> sshd = new ArrayList<>();
        for (long session : host.sessionPids()) {
            ProcessHandle.of(session).ifPresent(handle -> {
                sshd.add(handle);
                handle.descendants()
                        .filter(d -> d.info().command().map(c -> c.endsWith("/sshd")).orElse(false))
                        .forEach(sshd::add);
            });
        }
        assertFalse(sshd.isEmpty(), "the destination has SSH sessions");
        for (ProcessHandle process : sshd) {
            signal(process, "STOP");
        }
        return sshd;
    }

    private static void signal(ProcessHandle process, String signal) throws Exception {
        new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).inheritIO().start().waitFor();
    }

    /** Nothing of a migration is left on the "hosts": no mount, file or directory under the images root, no agent. */
    private void assertNothingLeft() throws Exception {
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        List<String> left = leftovers();
        while (!left.isEmpty() && System.nanoTime() < until) {
            Thread.sleep(200);
            left = leftovers();
        }
        assertEquals(List.of(), left, "left behind");
    }

    private List<String> leftovers() throws IOException {
        List<String> left = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String mountPoint = line.split(" ")[4];
            if (mountPoint.startsWith(imagesRoot.toString())) {
                left.add("mount " + mountPoint);
            }
        }
        try (Stream<Path> entries = Files.list(imagesRoot)) {
            entries.forEach(entry -> left.add("directory " + entry));
        }
        ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().map(c -> c.contains(agentDir.toString())).orElse(false))
                .forEach(p -> left.add("agent process " + p.pid() + " " + p.info().commandLine().orElse("")));
        return left;
    }
}
