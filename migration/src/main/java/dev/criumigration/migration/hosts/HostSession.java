package dev.criumigration.migration.hosts;

import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.Result;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.deploy.AgentDeployer;
import dev.criumigration.migration.remote.RemoteAgent;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.migration.ssh.RemoteHost;
import dev.criumigration.migration.ssh.SshConnector;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * One host during an engine call: its SSH connection and the agents serving on it. Everything the
 * engine asks a host goes through here, as agent requests ({@link AgentRequests}): one way in. An
 * agent runs one operation at a time, so a long one (a commit-point dump, a page server) gets an
 * agent of its own beside the session's main agent; the one-shot migration starts those agents during
 * its preflight, so no JVM start falls between the page server and the freeze.
 */
public final class HostSession implements AutoCloseable {
    private final HostAddress address;
    private final RemoteHost host;
    private final String jarPath;
    private final Consumer<String> log;
    private final RemoteAgent agent;
    private final List<RemoteAgent> extraAgents = new CopyOnWriteArrayList<>();
    /** An agent started ahead of the operation that will take it. */
    private RemoteAgent prepared;

    private HostSession(HostAddress address, RemoteHost host, String jarPath, Consumer<String> log)
            throws MigrationException {
        this.address = address;
        this.host = host;
        this.jarPath = jarPath;
        this.log = log;
        this.agent = RemoteAgent.start(host, jarPath, log);
    }

    /** Connects, makes sure the agent is deployed, and starts it. */
    static HostSession open(SshConnector ssh, AgentDeployer deployer, HostAddress address, Consumer<String> log)
            throws MigrationException {
        long start = System.nanoTime();
        RemoteHost host = ssh.connect(address);
        log.accept(host.address() + ": connected and authenticated in " + (System.nanoTime() - start) / 1_000_000 + " ms");
        try {
            return new HostSession(address, host, deployer.deploy(host).jarPath(), log);
        } catch (MigrationException | RuntimeException e) {
            host.close();
            throw e;
        }
    }

    /** Starts the agent that the next {@link #agentOfItsOwn()} hands out. */
    public synchronized void prepareAgent() throws MigrationException {
        if (prepared == null) {
            prepared = startAgent();
        }
    }

    /**
     * An agent for one long operation: the prepared one (whose death since is noticed at this
     * operation's first request), else a new one on the same connection. Closed with the session.
     */
    public synchronized RemoteAgent agentOfItsOwn() throws MigrationException {
        RemoteAgent agent = prepared != null ? prepared : startAgent();
        prepared = null;
        return agent;
    }

    private RemoteAgent startAgent() throws MigrationException {
        RemoteAgent extra = RemoteAgent.start(host, jarPath, log);
        extraAgents.add(extra);
        return extra;
    }

    /** The address as the caller gave it. */
    public HostAddress address() {
        return address;
    }

    /** The SSH connection still stands. */
    public boolean isOpen() {
        return host.isOpen();
    }

    /** Every agent of the session, the main one first. */
    public List<RemoteAgent> agents() {
        List<RemoteAgent> all = new ArrayList<>(List.of(agent));
        all.addAll(extraAgents);
        return all;
    }

    /** A request to the main agent, waited for within {@code timeout}. */
    public Result call(AgentRequest.Builder request, Duration timeout) throws MigrationException {
        return agent.call(request, timeout, null);
    }

    /** The same, with the request's events (progress, log lines) going to {@code sink}. */
    public Result call(AgentRequest.Builder request, Duration timeout, Consumer<AgentEvent> sink)
            throws MigrationException {
        return agent.call(request, timeout, sink);
    }

    /**
     * For the rollback: the main agent when it is free, else a fresh one on the same connection (the
     * main one may be gone, or still unwinding a cancelled operation).
     */
    public Result callWhateverHappened(AgentRequest.Builder request, Duration timeout) throws MigrationException {
        RemoteAgent free = agent.isOpen() && agent.isIdle() ? agent : startAgent();
        return free.call(request, timeout, null);
    }

    /** Asks every agent of the session to cancel what it runs; their outcomes still arrive. */
    void cancelCalls() {
        agents().forEach(RemoteAgent::cancelCalls);
    }

    /** Drops every agent's channel at once: the agents see their input end and cancel by themselves. */
    void abort() {
        agents().forEach(RemoteAgent::abort);
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
