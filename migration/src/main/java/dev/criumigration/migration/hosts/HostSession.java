package dev.criumigration.migration.hosts;

import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentInfo;
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
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One host during an engine call: its SSH connection and the one agent serving on it. Everything the
 * engine asks a host goes through here, as agent requests ({@link AgentRequests}): one way in. The
 * agent runs several operations at once (a page server, a commit-point dump and the looks beside
 * them). Where the host keeps a warm agent daemon of this controller's build, the session talks to
 * it through the SSH connection and starts no JVM; else it deploys the agent and starts one.
 */
public final class HostSession implements AutoCloseable {
    private final HostAddress address;
    private final RemoteHost host;
    private final AgentDeployer deployer;
    private final Consumer<String> log;
    /** The agent; replaced by a fresh one when it is gone and the rollback still needs the host. */
    private RemoteAgent agent;
    private final List<RemoteAgent> gone = new ArrayList<>();

    private HostSession(HostAddress address, RemoteHost host, AgentDeployer deployer, Consumer<String> log)
            throws MigrationException {
        this.address = address;
        this.host = host;
        this.deployer = deployer;
        this.log = log;
        this.agent = startAgent();
    }

    /** Connects and reaches the host's agent: its warm daemon, else one started for this session. */
    static HostSession open(SshConnector ssh, AgentDeployer deployer, HostAddress address, Consumer<String> log)
            throws MigrationException {
        long start = System.nanoTime();
        RemoteHost host = ssh.connect(address);
        log.accept(host.address() + ": connected and authenticated in " + (System.nanoTime() - start) / 1_000_000 + " ms");
        try {
            return new HostSession(address, host, deployer, log);
        } catch (MigrationException | RuntimeException e) {
            host.close();
            throw e;
        }
    }

    private RemoteAgent startAgent() throws MigrationException {
        Optional<RemoteAgent> warm = warmAgent();
        if (warm.isPresent()) {
            return warm.get();
        }
        return RemoteAgent.start(host, deployer.deploy(host).jarPath(), log);
    }

    /** The host's agent daemon, when one listens and runs this controller's build with its images base. */
    private Optional<RemoteAgent> warmAgent() throws MigrationException {
        String socket = host.settings().agentSocket();
        Optional<RemoteAgent> daemon = socket.isEmpty() ? Optional.empty()
                : RemoteAgent.connectDaemon(host, socket, log);
        if (daemon.isEmpty()) {
            return daemon;
        }
        String refusal;
        try {
            AgentInfo info = daemon.get().call(AgentRequests.agentInfo(), host.settings().commandTimeout(), null)
                    .getAgentInfo();
            String ours = AgentDeployer.embeddedJar().sha256();
            refusal = !info.getBuildSha256().equals(ours) ? "runs agent build " + abbreviate(info.getBuildSha256())
                    + ", this controller " + abbreviate(ours) + " (upgrade the host's agent to warm it again)"
                    : !info.getImagesBase().equals(host.settings().imagesBase()) ? "confines images to "
                    + info.getImagesBase() + ", this migration to " + host.settings().imagesBase()
                    : null;
            if (refusal == null) {
                log.accept(host.address() + ": warm agent daemon (pid " + info.getPid() + ", up "
                        + info.getUptimeMillis() / 1000 + " s, " + info.getSessionsServed() + " sessions served)");
                return daemon;
            }
        } catch (MigrationException e) {
            refusal = "did not answer: " + e.getMessage();
        }
        daemon.get().abort();
        log.accept(host.address() + ": its agent daemon " + refusal + "; starting an agent for this migration");
        return Optional.empty();
    }

    private static String abbreviate(String sha256) {
        return sha256.isEmpty() ? "(unnamed)" : sha256.substring(0, Math.min(12, sha256.length()));
    }

    /** The session's agent, for calls that outlive one request-and-answer (a page server, a dump). */
    public synchronized RemoteAgent agent() {
        return agent;
    }

    /** The address as the caller gave it. */
    public HostAddress address() {
        return address;
    }

    /** The SSH connection still stands. */
    public boolean isOpen() {
        return host.isOpen();
    }

    /** A request to the agent, waited for within {@code timeout}. */
    public Result call(AgentRequest.Builder request, Duration timeout) throws MigrationException {
        return agent().call(request, timeout, null);
    }

    /** The same, with the request's events (progress, log lines) going to {@code sink}. */
    public Result call(AgentRequest.Builder request, Duration timeout, Consumer<AgentEvent> sink)
            throws MigrationException {
        return agent().call(request, timeout, sink);
    }

    /**
     * For the rollback: the agent, or a fresh one on the same connection when it is gone (killed, or
     * its channel dropped while the connection stands) - also when it goes while this request runs.
     */
    public Result callWhateverHappened(AgentRequest.Builder request, Duration timeout) throws MigrationException {
        RemoteAgent tried = liveAgent();
        try {
            return tried.call(request, timeout, null);
        } catch (MigrationException e) {
            if (tried.isOpen() || !host.isOpen()) {
                throw e;  // the agent's own answer, or the connection is gone (the caller opens a new one)
            }
            log.accept(address + ": the agent ended during the request; asking a fresh one");
            return liveAgent().call(request, timeout, null);
        }
    }

    private synchronized RemoteAgent liveAgent() throws MigrationException {
        if (!agent.isOpen()) {
            gone.add(agent);
            agent = startAgent();
        }
        return agent;
    }

    /** Asks the agent to cancel what it runs; the outcomes still arrive. */
    synchronized void cancelCalls() {
        agent.cancelCalls();
    }

    /** Drops the agent's channel at once: the agent sees its input end and cancels by itself. */
    synchronized void abort() {
        agent.abort();
    }

    @Override
    public synchronized void close() {
        try {
            agent.close();
            gone.forEach(RemoteAgent::abort);
        } finally {
            host.close();
        }
    }

    @Override
    public String toString() {
        return address.toString();
    }
}
