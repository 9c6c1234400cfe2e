package dev.criumigration.migration.deploy;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.HostFactsRequest;
import dev.criumigration.agent.protocol.ProcessStateRequest;
import dev.criumigration.migration.ssh.CommandResult;
import dev.criumigration.migration.ssh.RemoteHost;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.sftp.client.SftpClient;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Puts the agent this controller was built with on a host: {@code <agentDir>/criu-agent-<sha256>.jar},
 * uploaded by SFTP only when that file is missing or damaged, its checksum verified on the host. Checks
 * the host's Java first, since the agent cannot start without it. Beside the jar goes its class-data
 * sharing archive {@code criu-agent-<sha256>.jsa} (see {@link AgentLaunch}), made on the host once per
 * jar by a training run; without it the agent only starts slower.
 */
public final class AgentDeployer {
    public static final String RESOURCE = "/dev/criumigration/migration/deploy/criu-agent.jar";
    public static final int MINIMUM_JAVA = 17;
    static final String INSTALL_HINT = "install CRIU and Java 17+ with src/install/install-host.sh (as root) or the "
            + "Ansible role criumigration.criu.criu_host";
    private static final Pattern JAVA_VERSION = Pattern.compile("version \"(1\\.)?(\\d+)");

    /** The embedded agent jar, read once. */
    public record AgentJar(byte[] bytes, String sha256) {
        public String fileName() {
            return "criu-agent-" + sha256 + ".jar";
        }
    }

    /** Where the agent lives on a host, and what was done to put it there. */
    public record DeployedAgent(String jarPath, boolean uploaded, int javaMajorVersion, boolean archiveMade) {}

    private static AgentJar embedded;

    private final Consumer<String> log;
    /** Hosts this deployer already checked: later sessions (a rollback's) skip the probe's Java start. */
    private final java.util.Map<String, DeployedAgent> checked = new java.util.concurrent.ConcurrentHashMap<>();

    public AgentDeployer(Consumer<String> log) {
        this.log = log;
    }

    public static synchronized AgentJar embeddedJar() throws MigrationException {
        if (embedded == null) {
            try (InputStream in = AgentDeployer.class.getResourceAsStream(RESOURCE)) {
                if (in == null) {
                    throw new MigrationException(null, Kind.INTERNAL, "criu-agent.jar is not embedded in this build "
                            + "(resource " + RESOURCE + " missing)", "build with ./mvnw -pl migration -am package");
                }
                byte[] bytes = in.readAllBytes();
                embedded = new AgentJar(bytes, sha256(bytes));
            } catch (IOException e) {
                throw new MigrationException(null, Kind.INTERNAL, "reading the embedded criu-agent.jar failed: "
                        + e.getMessage(), "");
            }
        }
        return embedded;
    }

    private static final String ARCHIVE_PRESENT = "archive-present";
    /**
     * Shows the Java version, the jar's checksum and whether its archive exists in one round trip (a
     * fixed script; the command and paths travel as quoted arguments).
     */
    private static final String PROBE_SCRIPT = "\"$1\" -version 2>&1; echo \"java-exit=$?\"; sha256sum -- \"$2\" 2>/dev/null; "
            + "if [ -s \"$3\" ]; then echo " + ARCHIVE_PRESENT + "; fi";
    /**
     * Runs the training command (the arguments after the first two), then moves the archive it wrote
     * into place; the temporary files are removed whatever happens. The JVM's stderr (a line for every
     * class it cannot archive) is kept on the host and only its end shown on failure.
     */
    private static final String TRAINING_SCRIPT = "archive=$1; part=$2; shift 2; "
            + "\"$@\" 2>\"$part.err\" && [ -s \"$part\" ] && chmod 0644 -- \"$part\" && mv -f -- \"$part\" \"$archive\"; "
            + "status=$?; [ $status -eq 0 ] || tail -n 3 -- \"$part.err\" >&2; rm -f -- \"$part\" \"$part.err\"; exit $status";
    /** The training run's requests: what the engine asks first of every agent, answered from /proc and JNA. */
    private static final List<AgentRequest> TRAINING_REQUESTS = List.of(
            AgentRequest.newBuilder().setId(1).setProcessState(ProcessStateRequest.newBuilder().setPid(1)).build(),
            AgentRequest.newBuilder().setId(2).setHostFacts(HostFactsRequest.newBuilder().addPids(1)).build());

    /**
     * Checks Java on the host and makes sure the agent jar is there and intact; once per host and
     * deployer (one engine), whose later sessions trust the first check.
     */
    public DeployedAgent deploy(RemoteHost host) throws MigrationException {
        String key = host.address() + " " + host.settings().agentDir();
        DeployedAgent known = checked.get(key);
        if (known != null) {
            return new DeployedAgent(known.jarPath(), false, known.javaMajorVersion(), false);
        }
        DeployedAgent deployed = probeAndDeploy(host);
        checked.put(key, deployed);
        return deployed;
    }

    private DeployedAgent probeAndDeploy(RemoteHost host) throws MigrationException {
        AgentJar jar = embeddedJar();
        String agentDir = host.settings().agentDir();
        String path = agentDir + "/" + jar.fileName();
        String java = host.settings().javaCommand();
        String archive = AgentLaunch.archivePath(path);
        CommandResult probe = host.run(List.of("sh", "-c", PROBE_SCRIPT, "sh", java, path, archive), true);
        int javaVersion = checkJava(host, java, probe.stdout());
        String present = sha256Of(probe.stdout());
        if (jar.sha256().equals(present)) {
            log.accept(host + ": agent " + path + " present and intact");
            boolean archiveMade = !probe.stdout().contains(ARCHIVE_PRESENT) && makeArchive(host, path);
            return new DeployedAgent(path, false, javaVersion, archiveMade);
        }
        if (present != null) {
            log.accept(host + ": " + path + " is damaged (sha256 " + present + "), replacing it");
        }
        upload(host, jar, agentDir, path);
        String uploaded = sha256Of(host.run(List.of("sha256sum", "--", path), true).stdout());
        if (!jar.sha256().equals(uploaded)) {
            throw new MigrationException(null, Kind.REMOTE, "the agent uploaded to " + host + ":" + path
                    + " has sha256 " + uploaded + ", expected " + jar.sha256(), "check the disk on the host");
        }
        log.accept(host + ": agent uploaded to " + path + " (" + jar.bytes().length + " bytes, sha256 verified)");
        return new DeployedAgent(path, true, javaVersion, makeArchive(host, path));
    }

    /**
     * Makes the jar's class-data sharing archive: {@code serve}, started as the agent always is but
     * writing the classes it loaded to a temporary file at exit, answers the training requests; then the
     * file is moved into place. Best effort: on any failure the agent runs without an archive.
     */
    private boolean makeArchive(RemoteHost host, String jarPath) {
        String archive = AgentLaunch.archivePath(jarPath);
        int slash = archive.lastIndexOf('/') + 1;
        String part = archive.substring(0, slash) + "." + archive.substring(slash) + "." + UUID.randomUUID() + ".part";
        SshSettings settings = host.settings();
        List<String> argv = new ArrayList<>(List.of("timeout", "-k", "5", settings.commandTimeout().toMillis() / 1000.0 + "s",
                "sh", "-c", TRAINING_SCRIPT, "sh", archive, part));
        argv.addAll(AgentLaunch.training(settings, jarPath, part));
        long started = System.nanoTime();
        try (ChannelExec channel = host.openExec(argv, true)) {
            CompletableFuture<String> trained = CompletableFuture.supplyAsync(() -> train(channel));
            String failure = trained.get(settings.commandTimeout().toMillis(), TimeUnit.MILLISECONDS);
            boolean closed = channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), settings.commandTimeout())
                    .contains(ClientChannelEvent.CLOSED);
            Integer status = channel.getExitStatus();
            if (failure != null || status == null || status != 0) {
                // Only a closed channel's stderr is sure to end.
                String stderr = closed ? new String(channel.getInvertedErr().readAllBytes(), StandardCharsets.UTF_8).strip() : "";
                log.accept(host + ": no class-data sharing archive for the agent (" + (failure != null ? failure + "; " : "")
                        + "exit status " + status + (stderr.isEmpty() ? "" : ": " + stderr.replaceAll("\\R", " | "))
                        + "); it starts without one");
                return false;
            }
        } catch (MigrationException | IOException | ExecutionException | TimeoutException e) {
            log.accept(host + ": no class-data sharing archive for the agent (" + e.getMessage() + "); it starts without one");
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        log.accept(host + ": class-data sharing archive " + archive + " made in "
                + (System.nanoTime() - started) / 1_000_000 + " ms");
        return true;
    }

    /** Sends the training requests, each answered before the next goes; null, or what went wrong. */
    private static String train(ChannelExec channel) {
        try (OutputStream toAgent = channel.getInvertedIn(); InputStream fromAgent = channel.getInvertedOut()) {
            for (AgentRequest request : TRAINING_REQUESTS) {
                request.writeDelimitedTo(toAgent);
                toAgent.flush();
                AgentEvent event;
                do {
                    event = AgentEvent.parseDelimitedFrom(fromAgent);
                    if (event == null) {
                        return "the training run ended before it answered " + request.getOperationCase();
                    }
                } while (event.hasLog());
                if (!event.hasResult()) {
                    return "the training run answered " + request.getOperationCase() + " with " + event.getEventCase()
                            + (event.hasError() ? ": " + event.getError().getMessage() : "");
                }
            }
            // Closing stdin ends serve; the archive is written as its JVM exits.
            return null;
        } catch (IOException e) {
            return "talking to the training run failed: " + e.getMessage();
        }
    }

    /** The major Java version the agent will run with, from the probe's output. */
    private static int checkJava(RemoteHost host, String java, String probeOutput) throws MigrationException {
        Matcher exit = Pattern.compile("java-exit=(\\d+)").matcher(probeOutput);
        String versionText = probeOutput.substring(0, Math.max(0, probeOutput.indexOf("java-exit=")));
        if (!exit.find() || !exit.group(1).equals("0")) {
            String status = exit.find(0) ? exit.group(1) : "?";
            String why = status.equals("127") || versionText.contains("not found")
                    ? "there is no '" + java + "' on the host"
                    : "'" + java + " -version' failed: " + firstLine(versionText);
            throw new MigrationException(null, Kind.HOST_NOT_READY, host + " cannot run the agent: " + why,
                    INSTALL_HINT);
        }
        Matcher m = JAVA_VERSION.matcher(versionText);
        if (!m.find()) {
            throw new MigrationException(null, Kind.HOST_NOT_READY, host + ": cannot tell the Java version from '"
                    + firstLine(versionText) + "'", INSTALL_HINT);
        }
        int major = Integer.parseInt(m.group(2));
        if (m.group(1) != null || major < MINIMUM_JAVA) {
            throw new MigrationException(null, Kind.HOST_NOT_READY, host + " has Java " + (m.group(1) != null ? "1." : "")
                    + major + "; the agent needs Java " + MINIMUM_JAVA + " or newer", INSTALL_HINT);
        }
        return major;
    }

    /** The SHA-256 in sha256sum's output, or null when there is none (no such file). */
    private static String sha256Of(String output) {
        Matcher m = Pattern.compile("(?m)^([0-9a-f]{64})\\s").matcher(output);
        return m.find() ? m.group(1) : null;
    }

    private static String firstLine(String text) {
        return text.strip().lines().findFirst().orElse("no output");
    }

    /**
     * Uploads to a temporary name and moves it into place, so a broken upload never sits at the final
     * path. With sudo the upload goes to a private directory of the login user, then root moves it.
     */
    private void upload(RemoteHost host, AgentJar jar, String agentDir, String path) throws MigrationException {
        boolean sudo = host.settings().useSudo();
        String staging;
        if (sudo) {
            CommandResult temp = host.run(List.of("mktemp", "-d", "/tmp/criu-agent-upload.XXXXXXXX"), false);
            if (!temp.ok()) {
                throw new MigrationException(null, Kind.REMOTE, host + ": cannot make an upload directory: "
                        + temp.firstErrorLine(), "");
            }
            staging = temp.stdout().strip() + "/" + jar.fileName();
        } else {
            staging = agentDir + "/." + jar.fileName() + "." + UUID.randomUUID() + ".part";
        }
        mustSucceed(host, List.of("mkdir", "-p", "-m", "0755", "--", agentDir), true, "create " + agentDir);
        try {
            try (SftpClient sftp = host.sftp(); OutputStream out = sftp.write(staging)) {
                out.write(jar.bytes());
            } catch (IOException e) {
                throw new MigrationException(null, Kind.REMOTE, "uploading the agent to " + host + ":" + staging
                        + " failed: " + e.getMessage(), sudo ? "" : "check that " + agentDir + " is writable by "
                        + host.address().user().orElse("the login user") + " or use sudo", false, List.of(), e);
            }
            // A replaced jar has a new modification time, which the JVM checks: its old archive is worthless.
            mustSucceed(host, List.of("sh", "-c", "chmod 0644 -- \"$1\" && mv -f -- \"$1\" \"$2\" && rm -f -- \"$3\"", "sh",
                    staging, path, AgentLaunch.archivePath(path)), true, "move the agent into " + agentDir);
        } finally {
            removeStaging(host, sudo, staging);
        }
    }

    /** Best effort: a failure here must not hide the upload's own failure. */
    private void removeStaging(RemoteHost host, boolean sudo, String staging) {
        try {
            if (sudo) {
                host.run(List.of("rm", "-rf", "--", staging.substring(0, staging.lastIndexOf('/'))), false);
            } else {
                host.run(List.of("rm", "-f", "--", staging), true);
            }
        } catch (MigrationException e) {
            log.accept(host + ": could not remove " + staging + ": " + e.getMessage());
        }
    }

    private static void mustSucceed(RemoteHost host, List<String> argv, boolean privileged, String what)
            throws MigrationException {
        CommandResult result = host.run(argv, privileged);
        if (!result.ok()) {
            throw new MigrationException(null, Kind.REMOTE, host + ": cannot " + what + ": " + result.firstErrorLine(),
                    "");
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java", e);
        }
    }
}
