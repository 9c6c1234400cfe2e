package dev.criumigration.migration.it;

import dev.criumigration.migration.Gate;
import dev.criumigration.migration.EngineClock;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.deploy.AgentDeployer;
import dev.criumigration.migration.ssh.ClientKeys;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.migration.ssh.HostKeyPolicy;
import dev.criumigration.migration.ssh.SshIdentity;
import dev.criumigration.migration.ssh.SshdHost;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two "hosts": real OpenSSH sshd daemons on loopback, each with its own host key and authorized keys,
 * on one kernel (workloads live in their own PID and network namespaces, see PLATFORM.md). Each test
 * gets its own images root; afterwards nothing may be left: no mount, no process holding a file there,
 * no agent, no stopped workload.
 */
abstract class TwoHosts {
    static ClientKeys keys;
    static SshdHost source;
    static SshdHost destination;
    static Path stateDir;
    static Path knownHosts;
    static Path agentDir;

    /** CRIU processes and CRIU's nftables lock tables there before the hosts started: not this class's to judge. */
    static Set<Integer> criuBefore;
    static Set<String> lockTablesBefore;

    Path imagesRoot;
    final List<Workload> workloads = new ArrayList<>();

    @BeforeAll
    static void startHosts() throws Exception {
        Gate.requireCriu();
        assertEmbeddedAgentIsCurrent();
        criuBefore = Set.copyOf(Procs.byComm("criu"));
        lockTablesBefore = Set.copyOf(criuLockTables());
        keys = ClientKeys.generate();
        source = SshdHost.start("source", keys);
        destination = SshdHost.start("destination", keys);
        stateDir = Files.createTempDirectory("engine-it-");
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
            Procs.unmountAllUnder(stateDir);
            deleteTree(stateDir);
        }
    }

    @BeforeEach
    void makeImagesRoot() throws IOException {
        imagesRoot = Files.createTempDirectory(stateDir, "images-");
    }

    @AfterEach
    void stopWorkloads() throws Exception {
        for (Workload workload : workloads) {
            workload.close();
        }
        // A test that failed may have left its page server's tmpfs: the next tests start clean.
        Procs.unmountAllUnder(imagesRoot);
    }

    HostAddress from() {
        return source.address("root");
    }

    HostAddress to() {
        return destination.address("root");
    }

    SshSettings.Builder settings() {
        return SshSettings.builder()
                .identity(SshIdentity.fromFile(keys.privateKey(ClientKeys.Kind.ED25519_OPENSSH), null))
                .hostKeyPolicy(HostKeyPolicy.knownHosts(knownHosts))
                .agentDir(agentDir.toString())
                .imagesBase(stateDir.toString())
                // Never a daemon this machine may run: each test starts what it drives.
                .agentSocket("")
                .operationTimeout(Duration.ofMinutes(3));
    }

    MigrationEngine engine(RecordingListener listener) {
        return EngineClock.register(new MigrationEngine(settings().build(), listener));
    }

    Workload workload(String memory, int port) throws Exception {
        return workload(memory, port, null);
    }

    Workload workload(String memory, int port, String marker) throws Exception {
        Workload workload = Workload.start(stateDir.resolve("workload-" + System.nanoTime() + ".log"), memory, port,
                marker);
        workloads.add(workload);
        return workload;
    }

    /**
     * The source runs its tree with its state, alone: one copy, not stopped, ticking on from
     * {@code before} with the same memory checksum.
     */
    static void assertSourceRunsWithItsState(Workload workload, Workload.Tick before) throws Exception {
        assertEquals(List.of(workload.rootPid()), workload.roots(), "exactly the source's copy runs");
        char state = Procs.state(workload.rootPid());
        assertTrue(state == 'S' || state == 'R', "source root state " + state + Procs.tracer(workload.rootPid()));
        Workload.Tick after = workload.awaitTickAfter(workload.lastTick().tick(), Duration.ofSeconds(20));
        assertTrue(after.tick() > before.tick(), "counter went on: " + before + " -> " + after);
        assertEquals(before.checksum(), after.checksum(), "memory intact");
    }

    /** Nothing of the migration is left on either "host" (they share this kernel and file system). */
    void assertNothingLeft() throws Exception {
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        List<String> left;
        do {
            left = leftovers();
            if (left.isEmpty()) {
                return;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < until);
        throw new AssertionError("left behind: " + left);
    }

    private List<String> leftovers() throws IOException {
        List<String> left = new ArrayList<>();
        for (String mount : Procs.mountsUnder(imagesRoot)) {
            left.add("mount " + mount);
        }
        try (Stream<Path> entries = Files.list(imagesRoot)) {
            entries.forEach(entry -> left.add("directory " + entry));
        }
        for (int pid : Procs.pids()) {
            if (holdsFileUnder(pid, imagesRoot)) {
                left.add("process " + pid + " (" + Procs.comm(pid) + ") holds a file under " + imagesRoot);
            }
            List<String> argv = Procs.cmdline(pid);
            if (argv.stream().anyMatch(a -> a.startsWith(agentDir.toString())) && argv.contains("serve")) {
                left.add("agent " + pid + " " + argv);
            }
            if (argv.stream().anyMatch(a -> a.endsWith("DetachedPageServer"))
                    && argv.stream().anyMatch(a -> a.startsWith(agentDir.toString()))) {
                left.add("detached page server " + pid);
            }
        }
        // Also CRIU that left its host's process tree (a page server orphaned to init, its tmpfs detached).
        for (int pid : Procs.byComm("criu")) {
            if (!criuBefore.contains(pid)) {
                left.add("criu " + pid + " " + Procs.cmdline(pid));
            }
        }
        for (String table : criuLockTables()) {
            if (!lockTablesBefore.contains(table)) {
                left.add("CRIU's network lock, nftables table " + table + " (in this host's network namespace)");
            }
        }
        return left;
    }

    /** CRIU's network lock tables (inet CRIU-...) in this host's network namespace. */
    static List<String> criuLockTables() throws IOException {
        Process nft = new ProcessBuilder("nft", "list", "tables").redirectErrorStream(true).start();
        String output = new String(nft.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
            if (!nft.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) || nft.exitValue() != 0) {
                throw new IOException("nft list tables failed: " + output);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return output.lines().filter(line -> line.startsWith("table inet CRIU-")).map(line -> line.substring(11)).toList();
    }

    static boolean holdsFileUnder(int pid, Path root) {
        Path fds = Path.of("/proc/" + pid + "/fd");
        try (Stream<Path> links = Files.list(fds)) {
            return links.anyMatch(link -> {
                try {
                    return Files.readSymbolicLink(link).toString().startsWith(root.toString());
                } catch (IOException gone) {
                    return false;
                }
            }) || Files.readSymbolicLink(Path.of("/proc/" + pid + "/cwd")).toString().startsWith(root.toString());
        } catch (IOException gone) {
            return false;
        }
    }

    /**
     * The engine deploys the agent jar embedded at build time; `mvn test` does not rebuild it, so a
     * stale one would test yesterday's agent. Compare it with the agent classes just compiled.
     */
    static void assertEmbeddedAgentIsCurrent() throws Exception {
        Path classes = Path.of("../agent-native/target/classes/dev/criumigration/agent/serve/AgentServer.class");
        if (!Files.exists(classes)) {
            return; // an installed engine without the agent sources: nothing to compare with
        }
        Path jar = Files.createTempFile("embedded-agent", ".jar");
        try {
            Files.write(jar, AgentDeployer.embeddedJar().bytes());
            try (JarFile embedded = new JarFile(jar.toFile())) {
                byte[] inJar = embedded.getInputStream(embedded.getEntry(
                        "dev/criumigration/agent/serve/AgentServer.class")).readAllBytes();
                assertTrue(java.util.Arrays.equals(inJar, Files.readAllBytes(classes)),
                        "the embedded criu-agent.jar is older than the agent's classes: build with "
                                + "./mvnw -pl migration -am verify (the agent's jar is made in its package phase)");
            }
        } finally {
            Files.deleteIfExists(jar);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
