package dev.criumigration.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a successful migration (or dry run) did: its phases with timings, the frozen window, the
 * memory moved and at what rate, and what the preflight found.
 *
 * @param id              unique per migration; names its directories on both hosts
 * @param from            the source host
 * @param to              the destination host
 * @param pid             the tree's root PID on the source
 * @param restoredPid     the restored root PID on the destination; 0 for a dry run
 * @param dryRun          only the preflight ran
 * @param phases          the phases that ran, in order, with their durations
 * @param frozenMillis    how long the tree did not run: from CRIU freezing it until the destination ran it
 * @param pages           memory pages moved
 * @param bytes           bytes of memory moved
 * @param megabytesPerSecond the rate pages moved at (MiB/s), 0 when unknown
 * @param processes       processes in the tree
 * @param criuVersions    CRIU versions, "source → destination"
 * @param cpuCheck        what the CPU compatibility check found
 * @param tmpfsSize       the destination tmpfs size
 * @param warnings        things worth knowing that did not stop the migration
 * @param tls             the page stream was encrypted with TLS
 * @param pageTransport   who carried the pages: "relay" (the agents) or "criu" (CRIU's own connection)
 * @param wireBytes       bytes the relay put on the wire (after compression, before TLS); 0 for "criu"
 */
public record MigrationReport(@JsonProperty(required = true) String id, @JsonProperty(required = true) String from,
                              @JsonProperty(required = true) String to, @JsonProperty(required = true) int pid,
                              int restoredPid, boolean dryRun, List<PhaseTiming> phases, long frozenMillis, long pages, long bytes,
                              double megabytesPerSecond, int processes, String criuVersions, String cpuCheck,
                              String tmpfsSize, List<String> warnings, boolean tls, String pageTransport,
                              long wireBytes) {

    /** One phase and how long it took. */
    public record PhaseTiming(@JsonProperty(required = true) Phase phase, @JsonProperty(required = true) long millis) {}

    public MigrationReport {
        phases = phases == null ? List.of() : List.copyOf(phases);
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
        megabytesPerSecond = Math.round(megabytesPerSecond * 10) / 10.0;  // to a tenth: what is worth printing
    }

    @JsonProperty("totalMillis")
    public long totalMillis() {
        return phases.stream().mapToLong(PhaseTiming::millis).sum();
    }

    /** The plain map a step hands on (the criuMigrate step's return value). */
    public Map<String, Object> toMap() {
        return Documents.toMap(this);
    }

    public static MigrationReport fromMap(Map<?, ?> map) {
        return Documents.fromMap(map, MigrationReport.class, "the migration report map");
    }

    public String toJson() {
        return Documents.toJson(this);
    }

    /** For people: a summary line, one line per phase, then the numbers. */
    public String toText() {
        StringBuilder text = new StringBuilder();
        text.append(dryRun ? "Dry run (preflight only) of PID " : "Migrated PID ").append(pid)
                .append(" from ").append(from).append(" to ").append(to)
                .append(dryRun ? ": the hosts are ready" : " (now PID " + restoredPid + " there)")
                .append("  [").append(id).append("]\n");
        for (PhaseTiming timing : phases) {
            text.append(String.format(Locale.ROOT, "  %-20s %s%n", timing.phase().label(), millis(timing.millis())));
        }
        text.append(String.format(Locale.ROOT, "  %-20s %s%n", "total", millis(totalMillis())));
        if (!dryRun) {
            text.append("Frozen window: ").append(millis(frozenMillis)).append('\n');
            text.append("Memory: ").append(pages).append(" pages, ").append(Sizes.human(bytes));
            if (megabytesPerSecond > 0) {
                text.append(String.format(Locale.ROOT, " at %.1f MiB/s", megabytesPerSecond));
            }
            text.append(", ").append(processes).append(processes == 1 ? " process" : " processes")
                    .append(tls ? ", TLS" : ", NOT encrypted")
                    .append("relay".equals(pageTransport) ? " (the agents' relay, " + Sizes.human(wireBytes) + " on the wire)"
                            : pageTransport != null ? " (CRIU's connection)" : "").append('\n');
        }
        if (criuVersions != null) {
            text.append("CRIU: ").append(criuVersions).append('\n');
        }
        if (cpuCheck != null) {
            text.append("CPU: ").append(cpuCheck).append('\n');
        }
        if (tmpfsSize != null) {
            text.append("Destination tmpfs: ").append(tmpfsSize).append('\n');
        }
        for (String warning : warnings) {
            text.append("Warning: ").append(warning).append('\n');
        }
        return text.toString();
    }

    static String millis(long millis) {
        return millis < 1000 ? millis + " ms" : String.format(Locale.ROOT, "%.2f s", millis / 1000.0);
    }
}
