package dev.criumigration.migration;

import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.Result;
import dev.criumigration.migration.deploy.AgentDeployer;
import dev.criumigration.migration.remote.RemoteAgent;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.migration.ssh.RemoteHost;
import dev.criumigration.migration.ssh.SshConnector;

import java.time.Duration;
import java.util.function.Consumer;

/** One host during an engine call: its SSH session and the agent serving on it. */
final class AgentSession implements AutoCloseable {
    private final HostAddress address;
    private final RemoteHost host;
    private final RemoteAgent agent;

    private AgentSession(HostAddress address, RemoteHost host, RemoteAgent agent) {
        this.address = address;
        this.host = host;
        this.agent = agent;
    }

    /** Connects, makes sure the agent is deployed, and starts it. */
    static AgentSession open(SshConnector ssh, AgentDeployer deployer, HostAddress address, Consumer<String> log)
            throws MigrationException {
        RemoteHost host = ssh.connect(address);
        try {
            String jar = deployer.deploy(host).jarPath();
            return new AgentSession(address, host, RemoteAgent.start(host, jar, log));
        } catch (MigrationException | RuntimeException e) {
            host.close();
            throw e;
        }
    }

    /** The address as the caller gave it. */
    HostAddress address() {
        return address;
    }

    RemoteHost host() {
        return host;
    }

    RemoteAgent agent() {
        return agent;
    }

    boolean isOpen() {
        return agent.isOpen() && host.isOpen();
    }

    Result call(AgentRequest.Builder request, Duration timeout, Consumer<AgentEvent> sink) throws MigrationException {
        return agent.call(request, timeout, sink);
    }

    @Override
    public void close() {
        try {
            agent.close();
        } finally {
            host.close();
        }
    }

    @Override
    public String toString() {
        return address.toString();
    }
}
