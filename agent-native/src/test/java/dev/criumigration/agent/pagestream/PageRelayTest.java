package dev.criumigration.agent.pagestream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import dev.criumigration.agent.nativeio.StreamSocket;
import dev.criumigration.agent.protocol.PageCompression;
import dev.criumigration.agent.protocol.PageRelayStats;
import dev.criumigration.agent.protocol.TlsPem;
import dev.criumigration.agent.testing.TestCertificates;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay between two agents over real sockets, with a stand-in for CRIU on each side speaking
 * CRIU's pattern: the dump sends its stream, waits for the page server's answer, closes; the page
 * server reads it all, answers and keeps its end open (CRIU's swrk holds a copy).
 */
class PageRelayTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final byte[] ANSWER = {0, 0, 0, 0};

  @TempDir Path dir;

  private final List<String> log = new CopyOnWriteArrayList<>();

  /** Both relays and their CRIU ends, connected. */
  private record Relays(PageRelay dump, PageRelay pageServer, StreamSocket dumpCriu, StreamSocket pageServerCriu)
      implements AutoCloseable {
    @Override
    public void close() {
      dump.close();
      pageServer.close();
    }
  }

  private Relays connect(TlsPem serverTls, TlsPem clientTls, PageCompression compression, long maxRate,
      Duration stallTimeout) throws Exception {
    RelayTls server = serverTls == null ? null : RelayTls.of(serverTls);
    RelayTls client = clientTls == null ? null : RelayTls.of(clientTls);
    RelayListener listener = RelayListener.open("127.0.0.1", 0, server);
    CompletableFuture<PageRelay> accepted = CompletableFuture.supplyAsync(() -> {
      try {
        RelayListener.Peer peer = listener.accept(TIMEOUT, log::add);
        return PageRelay.start(PageRelay.Side.PAGE_SERVER, StreamSocket.pair(), peer.wire(), peer.compression(), 0,
            stallTimeout);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    RelayWire wire = RelayConnector.connect("127.0.0.1", listener.port(), client, compression, TIMEOUT);
    PageRelay dump = PageRelay.start(PageRelay.Side.DUMP, StreamSocket.pair(), wire, compression, maxRate, stallTimeout);
    PageRelay pageServer = accepted.get(20, TimeUnit.SECONDS);
    return new Relays(dump, pageServer, dump.criuEnd(), pageServer.criuEnd());
  }

  /** CRIU's dump: the stream, the wait for the answer, the close. */
  private static CompletableFuture<byte[]> dumpingCriu(StreamSocket criu, byte[] stream) {
    return CompletableFuture.supplyAsync(() -> {
      try (Memory buffer = new Memory(stream.length)) {
        buffer.write(0, stream, 0, stream.length);
        criu.writeFully(buffer, stream.length);
        byte[] answer = readExactly(criu, ANSWER.length);
        criu.close();
        return answer;
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  /** CRIU's page server: reads {@code length} bytes, answers, keeps its end open. */
  private static CompletableFuture<byte[]> pageServerCriu(StreamSocket criu, int length) {
    return CompletableFuture.supplyAsync(() -> {
      try (Memory answer = new Memory(ANSWER.length)) {
        byte[] received = readExactly(criu, length);
        answer.write(0, ANSWER, 0, ANSWER.length);
        criu.writeFully(answer, ANSWER.length);
        return received;
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private static byte[] readExactly(StreamSocket socket, int length) throws IOException {
    byte[] bytes = new byte[length];
    try (Memory buffer = new Memory(Math.max(1, Math.min(length, 1 << 20)))) {
      int done = 0;
      while (done < length) {
        int n = socket.read(buffer, (int) Math.min(buffer.size(), length - done));
        if (n == 0) {
          throw new IOException("end of stream after " + done + " of " + length + " bytes");
        }
        buffer.read(0, bytes, done, n);
        done += n;
      }
    }
    return bytes;
  }

  private static byte[] stream(int length, boolean compressible) {
    byte[] bytes = new byte[length];
    if (compressible) {
      for (int i = 0; i < length; i++) {
        bytes[i] = (byte) ("page " + (i / 4096)).charAt(i % 6);
      }
    } else {
      new Random(42).nextBytes(bytes);
    }
    return bytes;
  }

  /** Runs one stream through; the stats of both sides. */
  private PageRelayStats[] carry(Relays relays, byte[] stream) throws Exception {
    CompletableFuture<byte[]> received = pageServerCriu(relays.pageServerCriu(), stream.length);
    CompletableFuture<byte[]> answered = dumpingCriu(relays.dumpCriu(), stream);
    assertArrayEquals(stream, received.get(20, TimeUnit.SECONDS), "the page server's CRIU got the whole stream");
    assertArrayEquals(ANSWER, answered.get(20, TimeUnit.SECONDS), "the dump's CRIU got the answer");
    return new PageRelayStats[] {relays.dump().awaitEnd(TIMEOUT), relays.pageServer().awaitEnd(TIMEOUT)};
  }

  @Test
  void aPlainRelayCarriesTheStreamAndTheAnswer() throws Exception {
    byte[] stream = stream(8 << 20, false);
    try (Relays relays = connect(null, null, PageCompression.NO_COMPRESSION, 0, PageRelay.STALL_TIMEOUT)) {
      PageRelayStats[] stats = carry(relays, stream);
      assertEquals(stream.length, stats[0].getStreamBytes());
      assertEquals(stream.length, stats[1].getStreamBytes());
      assertEquals(stream.length, stats[0].getWireBytes(), "no compression: the wire carries the stream as it is");
      assertEquals(false, stats[0].getTls());
    }
  }

  @Test
  void aTlsRelayWithLz4CarriesCompressibleMemoryInFewerBytes() throws Exception {
    TestCertificates certificates = TestCertificates.make(dir);
    byte[] stream = stream(8 << 20, true);
    try (Relays relays = connect(certificates.pageServer(), certificates.dump(), PageCompression.LZ4, 0,
        PageRelay.STALL_TIMEOUT)) {
      PageRelayStats[] stats = carry(relays, stream);
      assertTrue(stats[0].getTls() && stats[1].getTls());
      assertEquals(PageCompression.LZ4, stats[1].getCompression(), "the page server's side read it from the header");
      assertTrue(stats[0].getWireBytes() < stream.length / 4, "compressed: " + stats[0]);
      assertEquals(stats[0].getWireBytes(), stats[1].getWireBytes());
    }
  }

  @Test
  void theRateCapSlowsTheWire() throws Exception {
    byte[] stream = stream(4 << 20, false);
    try (Relays relays = connect(null, null, PageCompression.NO_COMPRESSION, 8L << 20, PageRelay.STALL_TIMEOUT)) {
      long started = System.nanoTime();
      carry(relays, stream);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
      // 4 MiB at 8 MiB a second: half a second at least (the first chunk goes at once).
      assertTrue(millis >= 350, "took " + millis + " ms");
    }
  }

  @Test
  void aPeerThatStopsReadingIsCutAfterTheStallTimeout() throws Exception {
    try (Relays relays = connect(null, null, PageCompression.NO_COMPRESSION, 0, Duration.ofSeconds(1))) {
      // The page server's CRIU never reads: the buffers fill, then the dumping side's write waits.
      CompletableFuture<byte[]> dumping = dumpingCriu(relays.dumpCriu(), stream(64 << 20, false));
      IOException stalled = assertThrows(IOException.class, () -> relays.pageServer().awaitEnd(TIMEOUT));
      assertTrue(stalled.getMessage().contains("stopped reading"), stalled.getMessage());
      assertThrows(Exception.class, () -> dumping.get(20, TimeUnit.SECONDS), "the dumping CRIU's stream broke");
      assertThrows(IOException.class, () -> relays.dump().awaitEnd(TIMEOUT));
    }
  }

  @Test
  void aDumpWithACertificateOfAnotherCaIsRefusedAndTheListenerWaitsForTheRightOne() throws Exception {
    TestCertificates ours = TestCertificates.make(dir.resolve("ours"));
    TestCertificates theirs = TestCertificates.make(dir.resolve("theirs"));
    RelayListener listener = RelayListener.open("127.0.0.1", 0, RelayTls.of(ours.pageServer()));
    CompletableFuture<RelayListener.Peer> accepted = CompletableFuture.supplyAsync(() -> {
      try {
        return listener.accept(TIMEOUT, log::add);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    });
    assertThrows(SSLException.class, () -> RelayConnector.connect("127.0.0.1", listener.port(),
        RelayTls.of(theirs.dump()), PageCompression.NO_COMPRESSION, TIMEOUT));
    // Someone who is no relay at all: plain bytes at a TLS listener.
    try (Socket stranger = new Socket(InetAddress.getLoopbackAddress(), listener.port())) {
      OutputStream out = stranger.getOutputStream();
      out.write("GET / HTTP/1.0\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      out.flush();
      stranger.setSoTimeout(10_000);
      assertTrue(stranger.getInputStream().read(new byte[256]) <= 256);
    } catch (IOException refused) {
      // dropped
    }
    try (RelayWire ok = RelayConnector.connect("127.0.0.1", listener.port(), RelayTls.of(ours.dump()),
        PageCompression.NO_COMPRESSION, TIMEOUT)) {
      RelayListener.Peer peer = accepted.get(20, TimeUnit.SECONDS);
      peer.wire().close();
    }
    assertTrue(log.size() >= 2 && log.stream().allMatch(line -> line.startsWith("refused a page stream connection")),
        log.toString());
    // It took its peer: nobody else is let in.
    assertThrows(IOException.class, () -> new Socket(InetAddress.getLoopbackAddress(), listener.port()).close());
  }

  @Test
  void noPeerWithinTheTimeoutIsATimeout() throws Exception {
    try (RelayListener listener = RelayListener.open("127.0.0.1", 0, null)) {
      assertThrows(SocketTimeoutException.class, () -> listener.accept(Duration.ofMillis(300), log::add));
    }
  }
}
