package dev.criumigration.migration.it;

import dev.criumigration.migration.DumpSpec;
import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageServerSpec;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.Phase;
import dev.criumigration.migration.RecordingListener;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CRIU's own page transport between the hosts: CRIU's TLS with certificates the controller makes per migration:
 * CRIU's own logs on both ends say so, a client without the migration's certificate is refused, a dump
 * that does not trust the page server fails before the source is frozen, and no certificate or key is
 * left on either host.
 */
class PageStreamTlsTest extends TwoHosts {

    /** What the test saw on the "hosts" while the migration ran. */
    private final Map<String, String> seen = new ConcurrentHashMap<>();

    private Path only(String suffix) throws IOException {
        try (Stream<Path> dirs = Files.list(imagesRoot)) {
            return dirs.filter(d -> d.getFileName().toString().endsWith(suffix)).findFirst()
                    .orElseThrow(() -> new AssertionError("no *" + suffix + " in " + imagesRoot));
        }
    }

    @Test
    void aMigrationStreamsItsPagesOverTlsAndLeavesNoKeyBehind() throws Exception {
        Workload workload = workload("16M", 0);
        Workload.Tick before = workload.lastTick();
        RecordingListener listener = new RecordingListener() {
            @Override
            public void phaseStarted(Phase phase) {
                super.phaseStarted(phase);
                try {
                    if (phase == Phase.DUMP) {
                        seen.put("listeners", String.join("\n", criuListeners()));
                        Path tls = only(".pages").resolve(".criu-agent/tls");
                        seen.put("tls dir mode", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls)));
                        seen.put("key mode", PosixFilePermissions.toString(
                                Files.getPosixFilePermissions(tls.resolve("key.pem"))));
                    } else if (phase == Phase.COPY_IMAGES) {
                        seen.put("page server log", Files.readString(only(".pages").resolve("criu-page-server.log")));
                        seen.put("dump log", Files.readString(only(".dump").resolve("criu-dump.log")));
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        MigrationReport report;
        try (MigrationEngine engine = engine(listener)) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).pageStream(new PageStream(PageStream.Transport.CRIU, false, 0))
                    .build());
        }
        assertTrue(report.tls(), report.toText());
        assertTrue(seen.get("page server log").contains("tls: TLS handshake completed"), "page server: TLS");
        assertTrue(seen.get("dump log").contains("tls: TLS handshake completed"), "dump: TLS");
        assertEquals("rwx------", seen.get("tls dir mode"));
        assertEquals("rw-------", seen.get("key mode"));
        // Bound to the one address the source dials, never to every interface.
        assertTrue(seen.get("listeners").matches("(?s)127\\.0\\.0\\.1:\\d+.*"), seen.get("listeners"));
        assertFalse(seen.get("listeners").contains("0.0.0.0") || seen.get("listeners").contains("*:"),
                seen.get("listeners"));
        assertEquals(List.of(report.restoredPid()), workload.roots());
        assertEquals(before.checksum(), workload.awaitTickAfter(before.tick(), Duration.ofSeconds(20)).checksum());
        assertNothingLeft();
    }

    @Test
    void plainTextOnlyWhenAskedForAndWithAWarning() throws Exception {
        Workload workload = workload("8M", 0);
        RecordingListener listener = new RecordingListener() {
            @Override
            public void phaseStarted(Phase phase) {
                super.phaseStarted(phase);
                if (phase == Phase.COPY_IMAGES) {
                    try {
                        seen.put("page server log", Files.readString(only(".pages").resolve("criu-page-server.log")));
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        };
        MigrationReport report;
        try (MigrationEngine engine = engine(listener)) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).tls(false)
                    .pageStream(new PageStream(PageStream.Transport.CRIU, false, 0)).build());
        }
        assertFalse(report.tls());
        assertFalse(seen.get("page server log").contains("tls:"), "no TLS in the page server's log");
        assertTrue(listener.warnings.stream().anyMatch(w -> w.contains("NOT encrypted")), listener.warnings.toString());
        assertNothingLeft();
    }

    @Test
    void aDumpThatDoesNotTrustThePageServerFailsBeforeTheFreeze() throws Exception {
        Workload workload = workload("8M", 0);
        Workload.Tick before = workload.lastTick();
        PageServerInfo pageServer;
        try (MigrationEngine engine = engine(new RecordingListener())) {
            pageServer = engine.startPageServer(to(), PageServerSpec.builder()
                    .imagesDir(imagesRoot.resolve("step.pages").toString()).tmpfsSize("64M")
                    .transport(PageStream.Transport.CRIU).build());
        }
        assertTrue(pageServer.tls());
        // The dump step takes the CA it checks the page server with from the destination: make it another CA.
        Path kept = Path.of(pageServer.imagesDir(), ".criu-agent/tls");
        assertTrue(Files.exists(kept.resolve("peer-key.pem")), "the dump's key waits beside the page server's");
        Files.writeString(kept.resolve("ca.pem"), otherCa());
        Set<Character> states = ConcurrentHashMap.newKeySet();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                states.add(Procs.state(workload.rootPid()));
                Thread.onSpinWait();
            }
        });
        sampler.start();
        MigrationException e;
        try {
            e = assertThrows(MigrationException.class, () -> {
                try (MigrationEngine engine = engine(new RecordingListener())) {
                    engine.dump(from(), DumpSpec.of(workload.rootPid()), pageServer);
                }
            });
        } finally {
            sampler.interrupt();
            sampler.join();
        }
        System.out.println(e.describe());
        assertEquals(Phase.DUMP, e.phase(), e.describe());
        assertTrue(e.getMessage().contains("TLS handshake"), e.describe());
        assertFalse(e.hint().contains("tmpfs"), "the hint is about the certificates: " + e.hint());
        assertTrue(states.stream().allMatch(state -> state == 'S' || state == 'R'), "never frozen: " + states);
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    @Test
    void aClientWithoutTheMigrationsCertificateIsRefused() throws Exception {
        Workload workload = workload("8M", 0);
        Workload.Tick before = workload.lastTick();
        PageServerInfo pageServer;
        try (MigrationEngine engine = engine(new RecordingListener())) {
            pageServer = engine.startPageServer(to(), PageServerSpec.builder()
                    .imagesDir(imagesRoot.resolve("step.pages").toString()).tmpfsSize("64M")
                    .transport(PageStream.Transport.CRIU).build());
        }
        // Whoever reaches the port first without the certificate: a plain TCP client sending a page
        // server header. The page server ends its handshake with it and gives up.
        try (Socket plain = new Socket("127.0.0.1", pageServer.port())) {
            OutputStream out = plain.getOutputStream();
            out.write(new byte[64]);
            out.flush();
            plain.setSoTimeout(10_000);
            plain.getInputStream().read(new byte[256]);
        } catch (IOException closedOnUs) {
            // the page server closed the connection
        }
        Path log = Path.of(pageServer.imagesDir(), "criu-page-server.log");
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.readString(log).contains("TLS handshake failed") && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        String pageServerLog = Files.readString(log);
        assertTrue(pageServerLog.contains("tls: TLS handshake failed"), pageServerLog);
        assertFalse(Files.exists(Path.of(pageServer.imagesDir(), "pagemap-" + workload.rootPid() + ".img")));
        // The real dump finds no page server any more: it fails without freezing, and cleans both hosts.
        MigrationException e = assertThrows(MigrationException.class, () -> {
            try (MigrationEngine engine = engine(new RecordingListener())) {
                engine.dump(from(), DumpSpec.of(workload.rootPid()), pageServer);
            }
        });
        assertEquals(Phase.DUMP, e.phase(), e.describe());
        assertSourceRunsWithItsState(workload, before);
        assertNothingLeft();
    }

    /** Addresses CRIU processes listen on (ss), as "ADDR:PORT" lines. */
    private static List<String> criuListeners() throws IOException {
        Process ss = new ProcessBuilder("ss", "-Htlnp").redirectErrorStream(true).start();
        List<String> listeners = new ArrayList<>();
        for (String line : new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8).split("\\R")) {
            if (line.contains("\"criu\"")) {
                listeners.add(line.trim().split("\\s+")[3]);
            }
        }
        return listeners;
    }

    /** A CA certificate of no migration, made with openssl. */
    private String otherCa() throws Exception {
        Path dir = Files.createTempDirectory(stateDir, "other-ca-");
        try {
            Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=someone else", "-days", "1",
                    "-keyout", dir.resolve("key.pem").toString(), "-out", dir.resolve("ca.pem").toString())
                    .redirectErrorStream(true).start();
            String output = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, openssl.waitFor(), output);
            return Files.readString(dir.resolve("ca.pem"));
        } finally {
            deleteTree(dir);
        }
    }
}
