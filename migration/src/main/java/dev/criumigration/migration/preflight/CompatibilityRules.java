package dev.criumigration.migration.preflight;

import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.HostFacts;
import dev.criumigration.agent.protocol.ProcessTree;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.Sizes;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether a tree can move from one host to another, from facts the agents found: pure rules, no I/O.
 * Each refusal is INCOMPATIBLE and says what to do.
 */
public final class CompatibilityRules {
    /** Room on the destination tmpfs beyond the workload's resident memory (non-page images, slack). */
    static final long TMPFS_SLACK_BYTES = 32L << 20;

    private CompatibilityRules() {}

    /** What the rules decided: the tmpfs to mount, the CRIU versions, and warnings that do not stop us. */
    public record Verdict(String tmpfsSize, String criuVersions, List<String> warnings) {}

    /**
     * @param requestedTmpfs the caller's tmpfs size, or null to size it from the tree
     * @param to             the destination's name, for messages
     */
    public static Verdict judge(CheckResult source, CheckResult destination, ProcessTree tree, HostFacts destinationFacts,
                                String requestedTmpfs, String from, String to) throws MigrationException {
        List<String> warnings = new ArrayList<>();
        String criuVersions = source.getCriuVersion() + " -> " + destination.getCriuVersion();
        int order = compareVersions(destination.getCriuVersion(), source.getCriuVersion());
        if (order < 0) {
            throw incompatible("CRIU on " + to + " (" + destination.getCriuVersion() + ") is older than on " + from
                    + " (" + source.getCriuVersion() + "): it may not read the images",
                    "install the same CRIU on both hosts (src/install/install-host.sh)");
        }
        if (order > 0) {
            warnings.add("CRIU versions differ (" + criuVersions + "); a newer CRIU restores older images");
        }
        if (!tree.getOwnPidNamespace() && !destinationFacts.getPidsInUseList().isEmpty()) {
            throw incompatible("PIDs " + new TreeSet<>(destinationFacts.getPidsInUseList()) + " of the tree are in use on "
                    + to + "; CRIU restores a tree with its original PIDs",
                    "run the workload in its own PID namespace (unshare --pid --fork), or free those PIDs");
        }
        if (!tree.getOwnNetNamespace() && !tree.getListeningPortsList().isEmpty()) {
            Set<Integer> busy = new TreeSet<>(destinationFacts.getListeningPortsList());
            busy.retainAll(tree.getListeningPortsList());
            if (!busy.isEmpty()) {
                throw incompatible("TCP ports " + busy + " the tree listens on are in use on " + to,
                        "free them there, or run the workload in its own network namespace");
            }
        }
        long needed = tree.getResidentBytes() + TMPFS_SLACK_BYTES;
        String tmpfsSize;
        if (requestedTmpfs != null) {
            tmpfsSize = requestedTmpfs;
            if (Sizes.parse(tmpfsSize, "tmpfsSize") < needed) {
                throw incompatible("a tmpfs of " + tmpfsSize + " on " + to + " cannot hold the tree's memory ("
                        + Sizes.human(tree.getResidentBytes()) + " resident in " + tree.getPidsCount() + " processes)",
                        "give a tmpfs size of " + Sizes.megabytes(needed) + " or more, or leave it out to size it "
                        + "automatically");
            }
        } else {
            tmpfsSize = Sizes.megabytes(needed + needed / 2);
        }
        long available = destination.getMemoryAvailableBytes();
        if (available > 0 && available < needed) {
            throw incompatible(to + " has " + Sizes.human(available) + " of memory available, the tree needs about "
                    + Sizes.human(needed), "free memory there");
        }
        return new Verdict(tmpfsSize, criuVersions, warnings);
    }

    /** Compares dotted versions ("4.2.1"); unknown parts count as 0. */
    static int compareVersions(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int cmp = Integer.compare(number(x, i), number(y, i));
            if (cmp != 0) {
                return cmp;
            }
        }
        return 0;
    }

    private static int number(String[] parts, int i) {
        if (i >= parts.length) {
            return 0;
        }
        String digits = parts[i].replaceAll("\\D.*$", "");
        return digits.isEmpty() ? 0 : Integer.parseInt(digits);
    }

    private static MigrationException incompatible(String message, String hint) {
        return new MigrationException(Phase.PREFLIGHT, Kind.INCOMPATIBLE, message, hint);
    }
}
