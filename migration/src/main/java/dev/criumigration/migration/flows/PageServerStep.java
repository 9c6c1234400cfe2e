package dev.criumigration.migration.flows;

import dev.criumigration.agent.protocol.PageServerListening;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageServerSpec;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.Paths;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.Sizes;
import dev.criumigration.migration.UsageException;
import dev.criumigration.migration.hosts.HostSession;
import dev.criumigration.migration.pagestream.PageStreamCertificates;
import dev.criumigration.migration.phases.DumpPhase;
import dev.criumigration.migration.phases.PageServerPhase;
import dev.criumigration.migration.phases.PhaseClock;
import dev.criumigration.migration.phases.PhaseContext;
import dev.criumigration.migration.plan.MigrationPlan;
import dev.criumigration.migration.preflight.Preflight;
import dev.criumigration.migration.ssh.HostAddress;

import java.time.Duration;

/** Step 1 of the step-by-step flow: a detached page server on the destination, waiting for one dump. */
public final class PageServerStep {
    private final StepContext steps;

    public PageServerStep(StepContext steps) {
        this.steps = steps;
    }

    public PageServerInfo run(HostAddress destination, PageServerSpec spec) throws MigrationException {
        Checks.require(destination, "destination");
        PageServerSpec s = spec == null ? PageServerSpec.defaults() : spec;
        String base = steps.settings().imagesBase();
        String imagesDir = s.imagesDir() != null ? s.imagesDir() : base + "/" + MigrationPlan.newId() + ".pages";
        try {
            Paths.inside(imagesDir, base, "imagesDir", false);
            Checks.resolvable(destination);
        } catch (UsageException e) {
            throw Checks.usage(e);
        }
        PhaseContext context = steps.phases(null, null, destination, 0);
        PhaseClock clock = context.clock();
        HostSession dst = null;
        try {
            clock.begin(Phase.PAGE_SERVER);
            dst = steps.sessions().open(destination);
            context.ledger().sessions(null, dst);
            String tmpfsSize = s.tmpfsSize();
            if (tmpfsSize == null) {
                long available = new Preflight(steps.sessions(), steps.listener(), steps.settings().commandTimeout())
                        .check(dst, Phase.PAGE_SERVER, false).getMemoryAvailableBytes();
                tmpfsSize = Sizes.megabytes(available).replaceFirst("^0M$", "64M");
            }
            String address = s.address() != null ? s.address() : Checks.resolve(destination);
            Duration timeout = s.timeout() != null ? s.timeout() : steps.settings().operationTimeout();
            // The dump's certificate waits on the destination, beside the page server's, for the dump step.
            PageServerPhase.Started started = new PageServerPhase(context).start(dst, imagesDir, tmpfsSize, address,
                    s.port(), s.tls() ? PageStreamCertificates.issue(address).forPageServer(true) : null,
                    DumpPhase.transport(new PageStream(s.transport(), false, 0)), true, timeout);
            PageServerResult server = started.detachedResult();
            PageServerListening listening = started.listening();
            PageServerInfo info = new PageServerInfo(destination.toString(),
                    server.getAddress().isEmpty() ? address : server.getAddress(), (int) server.getPort(),
                    server.getImagesDir().isEmpty() ? imagesDir : server.getImagesDir(), server.getTmpfsMounted(),
                    server.getTmpfsMounted() ? tmpfsSize : "", listening.getPid(), s.tls(),
                    s.transport().name().toLowerCase(java.util.Locale.ROOT));
            clock.end();
            steps.listener().log("page server on " + destination + " listening on " + info.address() + ":"
                    + info.port() + ", images in " + info.imagesDir());
            return info;
        } catch (MigrationException | RuntimeException e) {
            throw steps.rollback().run(context.ledger(), clock.failure(e));
        } finally {
            steps.sessions().close(dst);
        }
    }
}
