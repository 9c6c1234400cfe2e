package dev.criumigration.migration.preflight;

import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.HostFacts;
import dev.criumigration.agent.protocol.ProcessTree;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.Phase;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The preflight's rules, on facts as the agents report them. */
class CompatibilityRulesTest {
    private static final CheckResult CRIU_421 = CheckResult.newBuilder().setOk(true).setCriuVersion("4.2.1")
            .setMemoryAvailableBytes(8L << 30).build();
    private static final ProcessTree SMALL_TREE = ProcessTree.newBuilder().setRoot(4242).addPids(4242).addPids(4243)
            .setResidentBytes(64L << 20).build();
    private static final HostFacts NOTHING_IN_USE = HostFacts.getDefaultInstance();

    @Test
    void sizesTheTmpfsFromTheTreeWithRoomToSpare() throws MigrationException {
        CompatibilityRules.Verdict verdict = judge(CRIU_421, CRIU_421, SMALL_TREE, NOTHING_IN_USE, null);
        // (64 MiB resident + 32 MiB slack) * 1.5
        assertEquals("144M", verdict.tmpfsSize());
        assertEquals("4.2.1 -> 4.2.1", verdict.criuVersions());
        assertTrue(verdict.warnings().isEmpty());
    }

    @Test
    void anOlderCriuOnTheDestinationIsRefusedANewerOneWarned() throws MigrationException {
        CheckResult older = CRIU_421.toBuilder().setCriuVersion("4.1.1").build();
        CheckResult newer = CRIU_421.toBuilder().setCriuVersion("4.10").build();
        assertIncompatible(() -> judge(CRIU_421, older, SMALL_TREE, NOTHING_IN_USE, null), "older than");
        assertEquals(1, judge(CRIU_421, newer, SMALL_TREE, NOTHING_IN_USE, null).warnings().size());
    }

    @Test
    void pidsInUseMatterOnlyOutsideAPidNamespace() throws MigrationException {
        HostFacts taken = HostFacts.newBuilder().addPidsInUse(4243).build();
        assertIncompatible(() -> judge(CRIU_421, CRIU_421, SMALL_TREE, taken, null), "PIDs [4243]");
        judge(CRIU_421, CRIU_421, SMALL_TREE.toBuilder().setOwnPidNamespace(true).build(), taken, null);
    }

    @Test
    void aPortTheTreeListensOnMustBeFreeUnlessItHasItsOwnNetwork() throws MigrationException {
        ProcessTree server = SMALL_TREE.toBuilder().addListeningPorts(8080).build();
        HostFacts busy = HostFacts.newBuilder().addListeningPorts(22).addListeningPorts(8080).build();
        assertIncompatible(() -> judge(CRIU_421, CRIU_421, server, busy, null), "TCP ports [8080]");
        judge(CRIU_421, CRIU_421, server.toBuilder().setOwnNetNamespace(true).build(), busy, null);
        judge(CRIU_421, CRIU_421, server, HostFacts.newBuilder().addListeningPorts(22).build(), null);
    }

    @Test
    void aGivenTmpfsMustHoldTheTreeAndTheDestinationItsMemory() throws MigrationException {
        assertIncompatible(() -> judge(CRIU_421, CRIU_421, SMALL_TREE, NOTHING_IN_USE, "64M"), "cannot hold");
        assertEquals("1G", judge(CRIU_421, CRIU_421, SMALL_TREE, NOTHING_IN_USE, "1G").tmpfsSize());
        CheckResult tight = CRIU_421.toBuilder().setMemoryAvailableBytes(50L << 20).build();
        assertIncompatible(() -> judge(CRIU_421, tight, SMALL_TREE, NOTHING_IN_USE, null), "of memory available");
    }

    @Test
    void versionsCompareByNumberNotText() {
        assertTrue(CompatibilityRules.compareVersions("4.10", "4.2.1") > 0);
        assertEquals(0, CompatibilityRules.compareVersions("4.2", "4.2.0"));
        assertTrue(CompatibilityRules.compareVersions("4.2-rc1", "4.3") < 0);
    }

    private static CompatibilityRules.Verdict judge(CheckResult source, CheckResult destination, ProcessTree tree,
                                                    HostFacts facts, String tmpfs) throws MigrationException {
        return CompatibilityRules.judge(source, destination, tree, facts, tmpfs, "root@src", "root@dst");
    }

    private interface Judging {
        void run() throws MigrationException;
    }

    private static void assertIncompatible(Judging judging, String expected) {
        MigrationException e = assertThrows(MigrationException.class, judging::run);
        assertEquals(Kind.INCOMPATIBLE, e.kind());
        assertEquals(Phase.PREFLIGHT, e.phase());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
