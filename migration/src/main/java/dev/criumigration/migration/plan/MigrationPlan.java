package dev.criumigration.migration.plan;

import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.Paths;
import dev.criumigration.migration.SshSettings;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Everything decided about a one-shot migration before a host is touched: its id, its directories on
 * both hosts, its deadline and whether the page stream is encrypted.
 */
public record MigrationPlan(MigrationSpec spec, String id, String dumpDir, String pagesDir, Deadline deadline) {

    /** Checks the spec against the settings (UsageException) and names the migration's directories. */
    public static MigrationPlan of(MigrationSpec spec, SshSettings settings, Deadlines deadlines) {
        String root = spec.imagesDir() != null ? spec.imagesDir() : settings.imagesBase();
        Paths.inside(root, settings.imagesBase(), "imagesDir", true);
        String id = newId();
        return new MigrationPlan(spec, id, root + "/" + id + ".dump", root + "/" + id + ".pages",
                deadlines.after(spec.timeout() != null ? spec.timeout() : settings.operationTimeout()));
    }

    public boolean tls() {
        return spec.tls();
    }

    /** A new migration id: sortable by time, unique enough to name directories on shared hosts. */
    public static String newId() {
        byte[] random = new byte[3];
        ThreadLocalRandom.current().nextBytes(random);
        return "m" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-"
                + HexFormat.of().formatHex(random);
    }

    /** The dump's directory beside a page server's: {@code X.pages} -> {@code X.dump}. */
    public static String siblingDir(String dir, String suffix) {
        String base = dir.endsWith(".pages") ? dir.substring(0, dir.length() - ".pages".length()) : dir;
        return base + suffix;
    }
}
