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
 * (SSH, the relay, everything; tcpdump must drop nothing) during a default migration holds none of the
 * workload's memory in clear text; the same capture of a migration with TLS turned off does, so the
 * check can fail. The dump's progress comes from the relay, with a rate and an estimate, and the rate
 * cap holds the stream to it.
 */
class PageRelayTest extends TwoHosts {
    private static final String MARKER = "criu-migration-engine-marker-91c2";

    @Test
    void aDefaultMigrationRelaysItsPagesOverTlsAndNoMemoryCrossesTheLoopbackInClearText() throws Exception {
        Workload workload = workload("64M", 0, MARKER);
        Workload.Tick before = workload.lastTick();
        MigrationReport report;
        byte[] wire;
        try (Capture capture = Capture.start(stateDir.resolve("default.pcap"));
             MigrationEngine engine = engine(new RecordingListener())) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).build());
            wire = capture.stop();
        }
        assertEquals("relay", report.pageTransport(), report.toText());
        assertTrue(report.tls(), report.toText());
        assertTrue(report.wireBytes() >= report.bytes(), report.toText());
        assertTrue(wire.length > report.bytes(), "the capture holds the stream: " + wire.length + " bytes");
        assertFalse(contains(wire, MARKER), "memory crossed the loopback in clear text");
        assertEquals(List.of(report.restoredPid()), workload.roots());
        assertEquals(before.checksum(), workload.awaitTickAfter(before.tick(), Duration.ofSeconds(30)).checksum());
        assertNothingLeft();
    }

    @Test
    void withoutTlsTheSameCaptureSeesTheMemoryAndTheCappedStreamReportsItsProgress() throws Exception {
        Workload workload = workload("24M", 0, MARKER);
        RecordingListener listener = new RecordingListener();
        MigrationReport report;
        byte[] wire;
        long started = System.nanoTime();
        try (Capture capture = Capture.start(stateDir.resolve("plain.pcap"));
             MigrationEngine engine = engine(listener)) {
            report = engine.migrate(MigrationSpec.builder(from(), to(), workload.rootPid())
                    .imagesDir(imagesRoot.toString()).tls(false)
                    .pageStream(new PageStream(PageStream.Transport.RELAY, false, 8L << 20)).build());
            wire = capture.stop();
        }
        assertFalse(report.tls());
        assertTrue(contains(wire, MARKER), "the capture should see the plain stream's memory");
        // 24 MiB at 8 MiB a second: about 3 s of dump, reported about once a second.
        assertTrue(System.nanoTime() - started > TimeUnit.SECONDS.toNanos(2), "the cap held the stream back");
        List<Transfer> progress = listener.dumpProgress;
        assertTrue(progress.size() >= 2, "the relay reported the dump's progress: " + progress);
        Transfer last = progress.get(progress.size() - 1);
        assertTrue(last.bytesPerSecond() > 0 && last.bytesPerSecond() < 12 << 20, "capped at 8 MiB/s: " + last);
        assertTrue(last.expectedBytes() >= 24L << 20 && last.etaMillis().isPresent(), last.toString());
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
        private final Path output;

        private Capture(Process tcpdump, Path file, Path output) {
            this.tcpdump = tcpdump;
            this.file = file;
            this.output = output;
        }

        static Capture start(Path file) throws Exception {
            Path output = file.resolveSibling(file.getFileName() + ".out");
            // A 128 MiB kernel buffer: a packet dropped by the capture could hide the marker.
            Process tcpdump = new ProcessBuilder("tcpdump", "-i", "lo", "-s", "0", "-B", "131072", "-U", "-w",
                    file.toString(), "tcp")
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.readString(output).contains("listening on")) {
                assertTrue(tcpdump.isAlive() && System.nanoTime() < until, "tcpdump did not start: "
                        + Files.readString(output));
                Thread.sleep(50);
            }
            return new Capture(tcpdump, file, output);
        }

        byte[] stop() throws Exception {
            Thread.sleep(500);  // -U writes each packet as it comes: the last ones reach the file
            close();
            String summary = Files.readString(output);
            assertTrue(summary.matches("(?s).*(^|\\n)0 packets dropped by kernel.*"), "the capture dropped packets: " + summary);
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
