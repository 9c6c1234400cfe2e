package dev.criumigration.migration;

import dev.criumigration.migration.ssh.HostKeyPolicy;
import dev.criumigration.migration.ssh.SshIdentity;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How the engine logs in to hosts and runs the agent there. Immutable; made with {@link #builder()}.
 * Defaults: user root, host keys from {@code ~/.ssh/known_hosts}, connect and authentication 15 s,
 * each remote command 60 s, each agent operation 10 min, keepalive every 10 s, no sudo, agent jars
 * under {@code /var/lib/criu-migration/agent}, images under {@code /var/lib/criu-migration/images}, a
 * warm agent daemon used where one listens on {@code /run/criu-agent/agent.sock}.
 */
public final class SshSettings {
    public static final String DEFAULT_AGENT_DIR = "/var/lib/criu-migration/agent";
    /** Where images may go on the hosts: the agents refuse directories outside (as the Ansible role's). */
    public static final String DEFAULT_IMAGES_BASE = "/var/lib/criu-migration/images";
    /** Where the criu-agent systemd unit's daemon listens (the agent's own default). */
    public static final String DEFAULT_AGENT_SOCKET = "/run/criu-agent/agent.sock";

    private final List<SshIdentity> identities;
    private final String defaultUser;
    private final HostKeyPolicy hostKeyPolicy;
    private final Duration connectTimeout;
    private final Duration authTimeout;
    private final Duration commandTimeout;
    private final Duration operationTimeout;
    private final Duration heartbeatInterval;
    private final boolean useSudo;
    private final String agentDir;
    private final String javaCommand;
    private final String imagesBase;
    private final String agentSocket;

    private SshSettings(Builder b) {
        this.identities = List.copyOf(b.identities);
        this.defaultUser = b.defaultUser;
        this.hostKeyPolicy = b.hostKeyPolicy;
        this.connectTimeout = b.connectTimeout;
        this.authTimeout = b.authTimeout;
        this.commandTimeout = b.commandTimeout;
        this.operationTimeout = b.operationTimeout;
        this.heartbeatInterval = b.heartbeatInterval;
        this.useSudo = b.useSudo;
        this.agentDir = b.agentDir;
        this.javaCommand = b.javaCommand;
        this.imagesBase = b.imagesBase;
        this.agentSocket = b.agentSocket;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Keys tried in order; empty means the controller user's default keys in ~/.ssh. */
    public List<SshIdentity> identities() {
        return identities;
    }

    public String defaultUser() {
        return defaultUser;
    }

    public HostKeyPolicy hostKeyPolicy() {
        return hostKeyPolicy;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    public Duration authTimeout() {
        return authTimeout;
    }

    public Duration commandTimeout() {
        return commandTimeout;
    }

    public Duration operationTimeout() {
        return operationTimeout;
    }

    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    public boolean useSudo() {
        return useSudo;
    }

    public String agentDir() {
        return agentDir;
    }

    public String javaCommand() {
        return javaCommand;
    }

    /** Every images directory on the hosts is inside it; the agents are started with it. */
    public String imagesBase() {
        return imagesBase;
    }

    /** The Unix socket of the hosts' agent daemon, or empty to start an agent for every migration. */
    public String agentSocket() {
        return agentSocket;
    }

    public static final class Builder {
        private final List<SshIdentity> identities = new ArrayList<>();
        private String defaultUser = "root";
        private HostKeyPolicy hostKeyPolicy = HostKeyPolicy.defaultKnownHosts();
        private Duration connectTimeout = Duration.ofSeconds(15);
        private Duration authTimeout = Duration.ofSeconds(15);
        private Duration commandTimeout = Duration.ofSeconds(60);
        private Duration operationTimeout = Duration.ofMinutes(10);
        private Duration heartbeatInterval = Duration.ofSeconds(10);
        private boolean useSudo;
        private String agentDir = DEFAULT_AGENT_DIR;
        private String javaCommand = "java";
        private String imagesBase = DEFAULT_IMAGES_BASE;
        private String agentSocket = DEFAULT_AGENT_SOCKET;

        private Builder() {}

        /** Adds a key to log in with; keys are tried in the order added. */
        public Builder identity(SshIdentity identity) {
            identities.add(Objects.requireNonNull(identity, "identity"));
            return this;
        }

        /** The login for hosts whose address names no user and whose key carries none. */
        public Builder defaultUser(String user) {
            if (user == null || user.isBlank()) {
                throw new UsageException("the default user must not be empty");
            }
            dev.criumigration.migration.ssh.HostAddress.of(user, "localhost", 22); // validates
            this.defaultUser = user;
            return this;
        }

        public Builder hostKeyPolicy(HostKeyPolicy policy) {
            this.hostKeyPolicy = Objects.requireNonNull(policy, "hostKeyPolicy");
            return this;
        }

        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        public Builder authTimeout(Duration timeout) {
            this.authTimeout = positive(timeout, "authTimeout");
            return this;
        }

        /** Deadline of each short remote command (checksums, version checks, mkdir). */
        public Builder commandTimeout(Duration timeout) {
            this.commandTimeout = positive(timeout, "commandTimeout");
            return this;
        }

        /** Default deadline of each agent operation (dump, restore, ...) when its spec gives none. */
        public Builder operationTimeout(Duration timeout) {
            this.operationTimeout = positive(timeout, "operationTimeout");
            return this;
        }

        /** SSH keepalive interval: a dead peer is noticed within a few intervals. */
        public Builder heartbeatInterval(Duration interval) {
            this.heartbeatInterval = positive(interval, "heartbeatInterval");
            return this;
        }

        /** Run the agent and privileged commands through {@code sudo -n} (for non-root logins). */
        public Builder useSudo(boolean sudo) {
            this.useSudo = sudo;
            return this;
        }

        /** Directory on each host for the agent jar (created when missing). */
        public Builder agentDir(String dir) {
            this.agentDir = Paths.absolute(Objects.requireNonNull(dir, "agentDir"), "the agent directory");
            return this;
        }

        /** The directory on each host that every images directory must be inside (created when missing). */
        public Builder imagesBase(String dir) {
            this.imagesBase = Paths.absolute(Objects.requireNonNull(dir, "imagesBase"), "the images base directory");
            return this;
        }

        /**
         * Where the hosts' agent daemon listens; "" never uses one (every migration starts the agent
         * over SSH, one JVM per host).
         */
        public Builder agentSocket(String path) {
            this.agentSocket = Objects.requireNonNull(path, "agentSocket").isEmpty() ? ""
                    : Paths.absolute(path, "the agent daemon's socket");
            return this;
        }

        /** The Java launcher on the hosts: a command on PATH or an absolute path (default "java"). */
        public Builder javaCommand(String command) {
            if (command == null || !command.matches("[A-Za-z0-9._+/-]+")) {
                throw new UsageException("the java command '" + (command == null ? "" : Paths.printable(command))
                        + "' must be a command name or a path of letters, digits and . _ + / -");
            }
            this.javaCommand = command;
            return this;
        }

        public SshSettings build() {
            return new SshSettings(this);
        }

        private static Duration positive(Duration d, String name) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new UsageException(name + " must be a positive duration, got " + d);
            }
            return d;
        }
    }
}
