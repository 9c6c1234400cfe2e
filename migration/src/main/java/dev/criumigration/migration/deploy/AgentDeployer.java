package dev.criumigration.migration.deploy;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.ssh.CommandResult;
import dev.criumigration.migration.ssh.RemoteHost;
import org.apache.sshd.sftp.client.SftpClient;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Puts the agent this controller was built with on a host: {@code <agentDir>/criu-agent-<sha256>.jar},
 * uploaded by SFTP only when that file is missing or damaged, its checksum verified on the host. Checks
 * the host's Java first, since the agent cannot start without it.
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
    public record DeployedAgent(String jarPath, boolean uploaded, int javaMajorVersion) {}

    private static AgentJar embedded;

    private final Consumer<String> log;

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

    /** Checks Java on the host and makes sure the agent jar is there and intact. */
    public DeployedAgent deploy(RemoteHost host) throws MigrationException {
        int java = checkJava(host);
        AgentJar jar = embeddedJar();
        String agentDir = host.settings().agentDir();
        String path = agentDir + "/" + jar.fileName();
        String present = remoteSha256(host, path);
        if (jar.sha256().equals(present)) {
            log.accept(host + ": agent " + path + " present and intact");
            return new DeployedAgent(path, false, java);
        }
        if (present != null) {
            log.accept(host + ": " + path + " is damaged (sha256 " + present + "), replacing it");
        }
        upload(host, jar, agentDir, path);
        String uploaded = remoteSha256(host, path);
        if (!jar.sha256().equals(uploaded)) {
            throw new MigrationException(null, Kind.REMOTE, "the agent uploaded to " + host + ":" + path
                    + " has sha256 " + uploaded + ", expected " + jar.sha256(), "check the disk on the host");
        }
        log.accept(host + ": agent uploaded to " + path + " (" + jar.bytes().length + " bytes, sha256 verified)");
        return new DeployedAgent(path, true, java);
    }

    /** The major Java version the agent will run with (as root through sudo, when configured). */
    int checkJava(RemoteHost host) throws MigrationException {
        String java = host.settings().javaCommand();
        CommandResult result = host.run(List.of(java, "-version"), true);
        if (!result.ok()) {
            String why = result.exitStatus() == 127 || result.stderr().contains("command not found")
                    ? "there is no '" + java + "' on the host" : "'" + java + " -version' failed: " + result.firstErrorLine();
            throw new MigrationException(null, Kind.HOST_NOT_READY, host + " cannot run the agent: " + why,
                    INSTALL_HINT);
        }
        Matcher m = JAVA_VERSION.matcher(result.stderr() + result.stdout());
        if (!m.find()) {
            throw new MigrationException(null, Kind.HOST_NOT_READY, host + ": cannot tell the Java version from '"
                    + result.firstErrorLine() + "'", INSTALL_HINT);
        }
        int major = Integer.parseInt(m.group(2));
        if (m.group(1) != null || major < MINIMUM_JAVA) {
            throw new MigrationException(null, Kind.HOST_NOT_READY, host + " has Java " + (m.group(1) != null ? "1." : "")
                    + major + "; the agent needs Java " + MINIMUM_JAVA + " or newer", INSTALL_HINT);
        }
        return major;
    }

    /** The file's SHA-256 as the host computes it, or null when there is no such file. */
    private static String remoteSha256(RemoteHost host, String path) throws MigrationException {
        CommandResult result = host.run(List.of("sha256sum", "--", path), true);
        if (!result.ok()) {
            return null;
        }
        String hash = result.stdout().strip().split("\\s+", 2)[0];
        return hash.matches("[0-9a-f]{64}") ? hash : null;
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
            mustSucceed(host, List.of("chmod", "0644", "--", staging), true, "set the agent's permissions");
            mustSucceed(host, List.of("mv", "-f", "--", staging, path), true, "move the agent into " + agentDir);
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
