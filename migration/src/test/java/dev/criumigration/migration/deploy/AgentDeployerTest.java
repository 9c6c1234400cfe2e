package dev.criumigration.migration.deploy;

import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.HostFactsRequest;
import dev.criumigration.agent.protocol.Result;
import dev.criumigration.migration.Gate;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.remote.RemoteAgent;
import dev.criumigration.migration.ssh.ClientKeys;
import dev.criumigration.migration.ssh.HostKeyPolicy;
import dev.criumigration.migration.ssh.RemoteHost;
import dev.criumigration.migration.ssh.SshConnector;
import dev.criumigration.migration.ssh.SshIdentity;
import dev.criumigration.migration.ssh.SshdHost;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Deploying the embedded agent to a real sshd "host" by SFTP. */
class AgentDeployerTest {
    private static ClientKeys keys;
    private static SshdHost host;

    @TempDir
    Path temp;

    @BeforeAll
    static void startSshd() throws Exception {
        Gate.requireSshd();
        keys = ClientKeys.generate();
        host = SshdHost.start("deploy", keys);
    }

    @AfterAll
    static void stopSshd() throws Exception {
        if (host != null) {
            host.close();
        }
        if (keys != null) {
            keys.close();
        }
    }

    private SshSettings settings(Path agentDir, String java) throws Exception {
        Path knownHosts = temp.resolve("known_hosts");
        Files.writeString(knownHosts, host.knownHostsLine() + "\n");
        return SshSettings.builder()
                .identity(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null))
                .hostKeyPolicy(HostKeyPolicy.knownHosts(knownHosts))
                .agentDir(agentDir.toString()).javaCommand(java).build();
    }

    @Test
    void uploadsOnceSkipsWhenIntactAndReplacesADamagedJar() throws Exception {
        Path agentDir = temp.resolve("agent/dir/not/there/yet");
        AgentDeployer.AgentJar jar = AgentDeployer.embeddedJar();
        Path deployed = agentDir.resolve(jar.fileName());
        RecordingListener listener = new RecordingListener();
        try (SshConnector connector = new SshConnector(settings(agentDir, "java"), listener);
             RemoteHost remote = connector.connect(host.address(null))) {
            AgentDeployer deployer = new AgentDeployer(listener::log);

            AgentDeployer.DeployedAgent first = deployer.deploy(remote);
            assertTrue(first.uploaded());
            assertEquals(deployed.toString(), first.jarPath());
            assertTrue(first.javaMajorVersion() >= 17);
            assertArrayEquals(jar.bytes(), Files.readAllBytes(deployed));
            assertTrue(first.archiveMade(), listener.logs.toString());
            Path archive = Path.of(AgentLaunch.archivePath(deployed.toString()));
            assertEquals(List.of(deployed, archive), listDir(agentDir), "no staging file left behind");

            FileTime uploadedAt = Files.getLastModifiedTime(deployed);
            Files.setLastModifiedTime(deployed, FileTime.fromMillis(uploadedAt.toMillis() - 60_000));
            FileTime backdated = Files.getLastModifiedTime(deployed);
            // Each engine has a deployer of its own, which probes a host once: a new one checks again.
            AgentDeployer.DeployedAgent second = new AgentDeployer(listener::log).deploy(remote);
            assertFalse(second.uploaded());
            assertFalse(second.archiveMade(), "an archive is made once per jar");
            assertEquals(backdated, Files.getLastModifiedTime(deployed), "an intact jar is not rewritten");

            byte[] damaged = jar.bytes().clone();
            damaged[damaged.length / 2] ^= 0x5a;
            Files.write(deployed, damaged);
            assertFalse(deployer.deploy(remote).uploaded(), "a deployer trusts its first check of a host");
            FileTime archivedAt = Files.getLastModifiedTime(archive);
            AgentDeployer.DeployedAgent third = new AgentDeployer(listener::log).deploy(remote);
            assertTrue(third.uploaded());
            assertTrue(third.archiveMade(), "a replaced jar gets an archive of its own");
            assertFalse(archivedAt.equals(Files.getLastModifiedTime(archive)));
            assertArrayEquals(jar.bytes(), Files.readAllBytes(deployed));
            assertTrue(listener.logs.stream().anyMatch(line -> line.contains("is damaged")), listener.logs.toString());
        }
    }

    @Test
    void aMissingArchiveIsMadeForAnIntactJar() throws Exception {
        Path agentDir = temp.resolve("agent");
        RecordingListener listener = new RecordingListener();
        try (SshConnector connector = new SshConnector(settings(agentDir, "java"), listener);
             RemoteHost remote = connector.connect(host.address(null))) {
            String jarPath = new AgentDeployer(listener::log).deploy(remote).jarPath();
            Path archive = Path.of(AgentLaunch.archivePath(jarPath));
            Files.delete(archive);
            AgentDeployer.DeployedAgent again = new AgentDeployer(listener::log).deploy(remote);
            assertFalse(again.uploaded());
            assertTrue(again.archiveMade());
            assertTrue(Files.size(archive) > 0);
        }
    }

    @Test
    void aFailedTrainingRunIsLoggedAndTheAgentStartsWithoutAnArchive() throws Exception {
        // A Java that runs everything but the training run, as a host whose JVM cannot write an archive.
        Path java = temp.resolve("java-without-archives");
        Files.writeString(java, "#!/bin/sh\ncase \"$*\" in *ArchiveClassesAtExit*) echo 'cannot dump' >&2; exit 3;; esac\n"
                + "exec java \"$@\"\n");
        java.toFile().setExecutable(true);
        Path agentDir = temp.resolve("agent");
        RecordingListener listener = new RecordingListener();
        try (SshConnector connector = new SshConnector(settings(agentDir, java.toString()), listener);
             RemoteHost remote = connector.connect(host.address(null))) {
            AgentDeployer.DeployedAgent deployed = new AgentDeployer(listener::log).deploy(remote);
            assertFalse(deployed.archiveMade());
            assertTrue(listener.logs.stream().anyMatch(line -> line.contains("no class-data sharing archive")
                    && line.contains("exit status 3: cannot dump")), listener.logs.toString());
            assertEquals(List.of(Path.of(deployed.jarPath())), listDir(agentDir), "no partial archive left behind");
            assertAnswers(remote, deployed.jarPath(), listener);
        }
    }

    @Test
    void anArchiveOfAnotherJarDoesNotCorruptTheProtocol() throws Exception {
        RecordingListener listener = new RecordingListener();
        Path agentDir = temp.resolve("agent");
        Path otherDir = temp.resolve("other");
        try (SshConnector connector = new SshConnector(settings(agentDir, "java"), listener);
             SshConnector other = new SshConnector(settings(otherDir, "java"), listener);
             RemoteHost remote = connector.connect(host.address(null));
             RemoteHost otherRemote = other.connect(host.address(null))) {
            String jarPath = new AgentDeployer(listener::log).deploy(remote).jarPath();
            String otherJar = new AgentDeployer(listener::log).deploy(otherRemote).jarPath();
            // The same classes, but recorded for another jar file: the JVM refuses it and says so.
            Files.copy(Path.of(AgentLaunch.archivePath(otherJar)), Path.of(AgentLaunch.archivePath(jarPath)),
                    StandardCopyOption.REPLACE_EXISTING);
            assertAnswers(remote, jarPath, listener);
            assertTrue(listener.logs.stream().anyMatch(line -> line.contains("agent: [") && line.contains("cds")),
                    "the JVM's warning about the archive reached stderr: " + listener.logs);
        }
    }

    /** The agent started as the engine starts it answers a request with its Result. */
    private static void assertAnswers(RemoteHost remote, String jarPath, RecordingListener listener) throws Exception {
        try (RemoteAgent agent = RemoteAgent.start(remote, jarPath, listener::log)) {
            Result result = agent.call(AgentRequest.newBuilder().setHostFacts(HostFactsRequest.newBuilder().addPids(1)),
                    Duration.ofSeconds(30), null);
            assertTrue(result.hasHostFacts(), result.toString());
            assertEquals(List.of(1), result.getHostFacts().getPidsInUseList());
        }
    }

    @Test
    void missingJavaIsAClearHostNotReadyError() throws Exception {
        Path agentDir = temp.resolve("agent");
        try (SshConnector connector = new SshConnector(settings(agentDir, "/nonexistent/bin/java"), new RecordingListener());
             RemoteHost remote = connector.connect(host.address(null))) {
            MigrationException e = assertThrows(MigrationException.class,
                    () -> new AgentDeployer(line -> { }).deploy(remote));
            assertEquals(Kind.HOST_NOT_READY, e.kind(), e.describe());
            assertTrue(e.getMessage().contains("there is no '/nonexistent/bin/java' on the host"), e.getMessage());
            assertTrue(e.hint().contains("src/install/install-host.sh") && e.hint().contains("criu_host"), e.hint());
            assertFalse(Files.exists(agentDir), "nothing is uploaded to a host that cannot run it");
        }
    }

    private static List<Path> listDir(Path dir) throws Exception {
        try (var files = Files.list(dir)) {
            return files.sorted().toList();
        }
    }
}
