package dev.criumigration.migration.it;

import dev.criumigration.migration.DumpInfo;
import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.Documents;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationListener;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageServerSpec;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.RestoreSpec;
import dev.criumigration.migration.SshSettings;
import dev.criumigration.migration.ssh.HostAddress;
import dev.criumigration.migration.ssh.HostKeyPolicy;
import dev.criumigration.migration.ssh.SshIdentity;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A controller in a JVM of its own, for the fault matrix to SIGKILL: one engine call (a migration, or
 * one step with the state file criu-migrate uses), its phases on stderr ("==> dump"), and when the
 * phase named {@code park} starts it says "parked" and waits there for its end - so that the kill
 * lands in that phase however short the phase is.
 *
 * <p>Arguments: KEY KNOWN_HOSTS AGENT_DIR IMAGES_BASE PARK STATE COMMAND ARGS, where PARK is a phase
 * label or "-", and COMMAND is {@code migrate FROM TO PID IMAGES_DIR}, {@code page-server TO IMAGES_DIR
 * TIMEOUT_SECONDS}, {@code dump FROM PID} or {@code restore}.
 */
public final class FaultMatrixController {
    private FaultMatrixController() {}

    public static void main(String[] args) throws Exception {
        SshSettings settings = SshSettings.builder()
                .identity(SshIdentity.fromFile(Path.of(args[0]), null))
                .hostKeyPolicy(HostKeyPolicy.knownHosts(Path.of(args[1])))
                .agentDir(args[2]).imagesBase(args[3]).operationTimeout(Duration.ofMinutes(3)).build();
        String park = args[4];
        Path state = Path.of(args[5]);
        MigrationListener listener = new MigrationListener() {
            @Override
            public void phaseStarted(Phase phase) {
                System.err.println("==> " + phase.label());
                if (phase.label().equals(park)) {
                    System.err.println("parked");
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        };
        try (MigrationEngine engine = new MigrationEngine(settings, listener)) {
            switch (args[6]) {
                case "migrate" -> engine.migrate(MigrationSpec.builder(HostAddress.parse(args[7]),
                        HostAddress.parse(args[8]), Integer.parseInt(args[9])).imagesDir(args[10]).build());
                case "page-server" -> write(state, "pageServer", engine.startPageServer(HostAddress.parse(args[7]),
                        PageServerSpec.builder().imagesDir(args[8]).tmpfsSize("64M")
                                .timeout(Duration.ofSeconds(Long.parseLong(args[9]))).build()).toMap());
                case "dump" -> write(state, "dump", engine.dump(HostAddress.parse(args[7]),
                        DumpSpec.of(Integer.parseInt(args[8])), PageServerInfo.fromMap(read(state, "pageServer")))
                        .toMap());
                case "restore" -> write(state, "restore", engine.restore(HostAddress.parse(PageServerInfo.fromMap(
                        read(state, "pageServer")).host()), RestoreSpec.defaults(), DumpInfo.fromMap(read(state, "dump")))
                        .toMap());
                default -> throw new IllegalArgumentException(args[6]);
            }
        }
        System.err.println("done");
    }

    private static Map<?, ?> read(Path state, String key) throws Exception {
        return (Map<?, ?>) ((Map<?, ?>) Documents.parseObject(Files.readString(state))).get(key);
    }

    /** Adds {@code key} to the state file, as criu-migrate's steps do. */
    static void write(Path state, String key, Map<String, Object> value) throws Exception {
        Map<String, Object> document = new LinkedHashMap<>();
        if (Files.exists(state)) {
            ((Map<?, ?>) Documents.parseObject(Files.readString(state))).forEach((k, v) -> document.put(String.valueOf(k), v));
        }
        document.put(key, value);
        Files.writeString(state, Documents.toJson(document));
    }
}
