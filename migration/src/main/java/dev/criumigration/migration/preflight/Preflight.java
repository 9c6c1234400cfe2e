package dev.criumigration.migration.preflight;

import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.CpuCheckResult;
import dev.criumigration.agent.protocol.HostFacts;
import dev.criumigration.agent.protocol.ProcessTree;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.hosts.AgentRequests;
import dev.criumigration.migration.hosts.HostSession;
import dev.criumigration.migration.hosts.HostSessions;
import dev.criumigration.migration.phases.PhaseClock;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The preflight of a migration: each host's agent check, the tree on the source and what is in use on
 * the destination (all from the agents, side by side), the {@link CompatibilityRules}, then CRIU's own
 * CPU check of the source's cpuinfo on the destination.
 */
public final class Preflight {
    private final HostSessions sessions;
    private final MigrationListener listener;
    private final Duration commandTimeout;

    public Preflight(HostSessions sessions, MigrationListener listener, Duration commandTimeout) {
        this.sessions = sessions;
        this.listener = listener;
        this.commandTimeout = commandTimeout;
    }

    /**
     * What the preflight found and decided.
     *
     * @param pageServerAddress where the destination's page server listens (the spec's, or the
     *                          destination's own address on its route to the source)
     */
    public record Findings(ProcessTree tree, String tmpfsSize, String criuVersions, String cpuCheck,
                           String pageServerAddress, List<String> warnings) {}

    public Findings run(HostSession src, HostSession dst, MigrationSpec spec, PhaseClock clock)
            throws MigrationException {
        // The agents run requests at once: every question whose answer is not needed for another goes out
        // together, in two rounds (the destination's facts need the tree, its CPU check the source's cpuinfo).
        CompletableFuture<CheckResult> srcChecking = sessions.async(() -> check(src, Phase.PREFLIGHT, spec.recheck()));
        CompletableFuture<ProcessTree> treeFinding = sessions.async(() -> src.call(AgentRequests.processTree(spec.pid()),
                clock.remaining(commandTimeout)).getProcessTree());
        CheckResult dstCheck = check(dst, Phase.PREFLIGHT, spec.recheck());
        CheckResult srcCheck = HostSessions.await(srcChecking);
        ProcessTree tree = HostSessions.await(treeFinding);
        CompletableFuture<String> cpuChecking = sessions.async(() -> cpuCheck(srcCheck, dst, spec.recheck(), clock));
        HostFacts dstFacts = dst.call(AgentRequests.hostFacts(tree.getOwnPidNamespace() ? List.of() : tree.getPidsList(),
                spec.pageServerAddress() == null ? spec.from().host() : null), clock.remaining(commandTimeout))
                .getHostFacts();

        CompatibilityRules.Verdict verdict = CompatibilityRules.judge(srcCheck, dstCheck, tree, dstFacts,
                spec.tmpfsSize(), spec.from().toString(), spec.to().toString());
        String cpuCheck = HostSessions.await(cpuChecking);
        String address = spec.pageServerAddress() != null ? spec.pageServerAddress() : dstFacts.getAddressTowardPeer();
        return new Findings(tree, verdict.tmpfsSize(), verdict.criuVersions(), cpuCheck, address, verdict.warnings());
    }

    /**
     * The agent's host check (CRIU's part from the agent's cache unless {@code recheck}); a host that
     * cannot take part is HOST_NOT_READY in {@code phase}.
     */
    public CheckResult check(HostSession session, Phase phase, boolean recheck) throws MigrationException {
        CheckResult check = session.call(AgentRequests.check(recheck), commandTimeout.plus(Duration.ofSeconds(30)))
                .getCheck();
        if (check.getFromCache()) {
            listener.log(session + ": CRIU's answers as kept from an earlier check (same CRIU, kernel and agent)");
        }
        if (!check.getOk()) {
            throw new MigrationException(phase, Kind.HOST_NOT_READY, session + " cannot take part in a migration: "
                    + String.join("; ", check.getProblemsList()), "install CRIU 4.2+ and Java 17+ with "
                    + "src/install/install-host.sh or the Ansible role criumigration.criu.criu_host");
        }
        return check;
    }

    /** CRIU's own CPU compatibility check: the source's cpuinfo image checked by CRIU on the destination. */
    private String cpuCheck(CheckResult srcCheck, HostSession dst, boolean recheck, PhaseClock clock)
            throws MigrationException {
        if (srcCheck.getCpuinfo().isEmpty()) {
            listener.warning("CPU compatibility not checked: the source agent sent no cpuinfo image");
            return "not checked (the source agent sent no cpuinfo image)";
        }
        CpuCheckResult result = dst.call(AgentRequests.cpuCheck(srcCheck.getCpuinfo(), recheck), clock.remaining(commandTimeout))
                .getCpuCheck();
        if (!result.getCompatible()) {
            throw new MigrationException(Phase.PREFLIGHT, Kind.INCOMPATIBLE, "the CPU of " + dst + " lacks features "
                    + "the source's CPU has (CRIU's cpuinfo check: " + result.getDetail() + ")",
                    "migrate to a host with the same or a newer CPU");
        }
        return result.getFromCache() ? "compatible (CRIU's cpuinfo check on the destination, as kept from an earlier one)"
                : "compatible (CRIU's cpuinfo check on the destination)";
    }
}
