package dev.criumigration.migration;

import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 */
public record MigrationReport(String id, String from, String to, int pid, int restoredPid, boolean dryRun,
                              List<PhaseTiming> phases, long frozenMillis, long pages, long bytes,
                              double megabytesPerSecond, int processes, String criuVersions, String cpuCheck,
                              String tmpfsSize, List<String> warnings, boolean tls) {

    /** One phase and how long it took. */
    public record PhaseTiming(Phase phase, long millis) {}

    public MigrationReport {
        phases = List.copyOf(phases);
        warnings = List.copyOf(warnings);
    }

    public long totalMillis() {
        return phases.stream().mapToLong(PhaseTiming::millis).sum();
    }

    public Map<String, Object> toMap() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("id", id);
        map.put("from", from);
        map.put("to", to);
        map.put("pid", pid);
        map.put("restoredPid", restoredPid);
        map.put("dryRun", dryRun);
        List<Object> phaseList = new ArrayList<>();
        for (PhaseTiming timing : phases) {
            Map<String, Object> phase = new LinkedHashMap<>();
            phase.put("phase", timing.phase().name());
            phase.put("millis", timing.millis());
            phaseList.add(phase);
        }
        map.put("phases", phaseList);
        map.put("totalMillis", totalMillis());
        map.put("frozenMillis", frozenMillis);
        map.put("pages", pages);
        map.put("bytes", bytes);
        map.put("megabytesPerSecond", Math.round(megabytesPerSecond * 10) / 10.0);
        map.put("processes", processes);
        map.put("criuVersions", criuVersions);
        map.put("cpuCheck", cpuCheck);
        map.put("tmpfsSize", tmpfsSize);
        map.put("warnings", new ArrayList<Object>(warnings));
        map.put("tls", tls);
        return map;
    }

    public static MigrationReport fromMap(Map<?, ?> map) {
        MapValues v = new MapValues("the migration report map", map);
        List<PhaseTiming> phases = new ArrayList<>();
        for (Object entry : v.list("phases")) {
            if (!(entry instanceof Map<?, ?> phaseMap)) {
                throw new UsageException("the migration report's phases must be maps");
            }
            MapValues p = new MapValues("a phase of the migration report", phaseMap);
            String name = p.string("phase");
            Phase phase;
            try {
                phase = Phase.valueOf(name);
            } catch (IllegalArgumentException e) {
                throw new UsageException("unknown phase '" + name + "' in the migration report");
            }
            phases.add(new PhaseTiming(phase, p.longValue("millis")));
        }
        List<String> warnings = new ArrayList<>();
        for (Object warning : v.list("warnings")) {
            warnings.add(String.valueOf(warning));
        }
        return new MigrationReport(v.string("id"), v.string("from"), v.string("to"), v.intValue("pid"),
                v.intValue("restoredPid", 0), v.bool("dryRun", false), phases, v.longValue("frozenMillis", 0),
                v.longValue("pages", 0), v.longValue("bytes", 0), v.doubleValue("megabytesPerSecond", 0),
                v.intValue("processes", 0), v.optString("criuVersions"), v.optString("cpuCheck"),
                v.optString("tmpfsSize"), warnings, v.bool("tls", false));
    }

    public String toJson() {
        return Json.write(toMap());
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
                    .append(tls ? ", TLS" : ", NOT encrypted").append('\n');
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
