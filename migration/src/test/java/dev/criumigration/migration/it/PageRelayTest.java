package dev.criumigration.migration.it;

import dev.criumigration.migration.MigrationEngine;
import dev.criumigration.migration.MigrationReport;
import dev.criumigration.migration.MigrationSpec;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.RecordingListener;
import dev.criumigration.migration.Transfer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The default page transport: the agents relay the pages over TLS 1.3. A capture of the whole loopback
 * (SSH, the relay, everything) during a default migration holds none of the workload's memory in clear
 * text; the same capture of a migration with TLS turned off does, so the check can fail. The dump's
 * progress comes from the relay, with a rate and an estimate.
 */
class PageRelayTest extends TwoHosts {
    private static final String MARKER = "criu-migration-engine-marker-91c2";

    @Test
    void aDefaultMigrationRelaysItsPagesOverTlsAndNoMemoryCrossesTheLoopbackInClearText() throws Exception {
        Workload workload = workload("256M", 0, MARKER);
        Workload.Tick before = workload.lastTick();
        RecordingListener listener = new RecordingListener();
        MigrationReport report;
        byte[] wire;
        try (Capture capture = Capture.start(stateDir.resolve("default.pcap"));
             MigrationEngine engine = engine(listener)) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).build());
            wire = capture.stop();
        }
        assertEquals("relay", report.pageTransport(), report.toText());
        assertTrue(report.tls(), report.toText());
        assertTrue(report.wireBytes() >= report.bytes(), report.toText());
        assertTrue(wire.length > report.bytes(), "the capture holds the stream: " + wire.length + " bytes");
        assertFalse(contains(wire, MARKER), "memory crossed the loopback in clear text");
        List<Transfer> progress = listener.dumpProgress;
        assertFalse(progress.isEmpty(), "the relay reported the dump's progress");
        Transfer last = progress.get(progress.size() - 1);
        assertTrue(last.bytesPerSecond() > 0 && last.expectedBytes() >= 256L << 20, last.toString());
        assertTrue(last.etaMillis().isPresent(), last.toString());
        assertEquals(List.of(report.restoredPid()), workload.roots());
        assertEquals(before.checksum(), workload.awaitTickAfter(before.tick(), Duration.ofSeconds(30)).checksum());
        assertNothingLeft();
    }

    @Test
    void withoutTlsTheSameCaptureSeesTheMemory() throws Exception {
        Workload workload = workload("16M", 0, MARKER);
        MigrationReport report;
        byte[] wire;
        try (Capture capture = Capture.start(stateDir.resolve("plain.pcap"));
             MigrationEngine engine = engine(new RecordingListener())) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).tls(false).pageStream(PageStream.DEFAULT).build());
            wire = capture.stop();
        }
        assertFalse(report.tls());
        assertTrue(contains(wire, MARKER), "the capture should see the plain stream's memory");
        assertEquals(List.of(report.restoredPid()), workload.roots());
        assertNothingLeft();
    }

    private static boolean contains(byte[] haystack, String marker) {
        byte[] needle = marker.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** tcpdump of every TCP packet on the loopback, whole. */
    private static final class Capture implements AutoCloseable {
        private final Process tcpdump;
        private final Path file;

        private Capture(Process tcpdump, Path file) {
            this.tcpdump = tcpdump;
            this.file = file;
        }

        static Capture start(Path file) throws Exception {
            Path output = file.resolveSibling(file.getFileName() + ".out");
            Process tcpdump = new ProcessBuilder("tcpdump", "-i", "lo", "-s", "0", "-U", "-w", file.toString(), "tcp")
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.readString(output).contains("listening on")) {
                assertTrue(tcpdump.isAlive() && System.nanoTime() < until, "tcpdump did not start: "
                        + Files.readString(output));
                Thread.sleep(50);
            }
            return new Capture(tcpdump, file);
        }

        byte[] stop() throws Exception {
            Thread.sleep(500);  // -U writes each packet as it comes: the last ones reach the file
            close();
            byte[] bytes = Files.readAllBytes(file);
            Files.delete(file);
            return bytes;
        }

        @Override
        public void close() throws Exception {
            tcpdump.destroy();
            if (!tcpdump.waitFor(10, TimeUnit.SECONDS)) {
                tcpdump.destroyForcibly();
            }
        }
    }
}
