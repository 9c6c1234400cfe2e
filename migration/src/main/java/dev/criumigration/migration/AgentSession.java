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
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * One host during an engine call: its SSH session and the agents serving on it. An agent runs one
 * operation at a time, so a long one (a commit-point dump, a page server) gets an agent of its own
 * beside the session's main agent.
 */
final class AgentSession implements AutoCloseable {
    private final HostAddress address;
    private final RemoteHost host;
    private final String jarPath;
    private final Consumer<String> log;
    private final RemoteAgent agent;
    private final List<RemoteAgent> extraAgents = new CopyOnWriteArrayList<>();

    private AgentSession(HostAddress address, RemoteHost host, String jarPath, Consumer<String> log)
            throws MigrationException {
        this.address = address;
        this.host = host;
        this.jarPath = jarPath;
        this.log = log;
        this.agent = RemoteAgent.start(host, jarPath, log);
    }

    /** Connects, makes sure the agent is deployed, and starts it. */
    static AgentSession open(SshConnector ssh, AgentDeployer deployer, HostAddress address, Consumer<String> log)
            throws MigrationException {
        RemoteHost host = ssh.connect(address);
        try {
            return new AgentSession(address, host, deployer.deploy(host).jarPath(), log);
        } catch (MigrationException | RuntimeException e) {
            host.close();
            throw e;
        }
    }

    /** Another agent on the same host and connection, closed with the session. */
    RemoteAgent startAgent() throws MigrationException {
        RemoteAgent extra = RemoteAgent.start(host, jarPath, log);
        extraAgents.add(extra);
        return extra;
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

    /** Every agent of the session, the main one first. */
    List<RemoteAgent> agents() {
        List<RemoteAgent> all = new java.util.ArrayList<>(List.of(agent));
        all.addAll(extraAgents);
        return all;
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
            for (RemoteAgent extra : extraAgents) {
                extra.close();
            }
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
