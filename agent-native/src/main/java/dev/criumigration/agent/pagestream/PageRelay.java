package dev.criumigration.agent.pagestream;

import com.sun.jna.Memory;
import dev.criumigration.agent.nativeio.StreamSocket;
import dev.criumigration.agent.protocol.PageCompression;
import dev.criumigration.agent.protocol.PageRelayStats;
import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.Checksum;
import net.jpountz.lz4.LZ4BlockInputStream;
import net.jpountz.lz4.LZ4BlockOutputStream;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.xxhash.XXHashFactory;

/**
 * Carries one CRIU page stream between CRIU's local socket and the relay connection to the other
 * agent, both ways: the pages one way (the primary direction: CRIU to the wire on the dumping side,
 * the wire to CRIU on the page server's), CRIU's few answers the other. Owns both ends.
 *
 * <p>The stream is complete when the primary direction's input ends: CRIU's own protocol has then
 * closed the stream properly (the dump's last command was answered by the page server), so the
 * relay shuts everything down. Any other end - a failure, the reverse direction ending first, a write
 * blocked for {@link #STALL_TIMEOUT}, {@link #abort} - cuts both connections at once: CRIU then sees
 * its stream break and fails (the dump resumes its source).
 */
public final class PageRelay implements Closeable {
  /** Which agent runs this relay. */
  public enum Side { DUMP, PAGE_SERVER }

  /** A write that moves nothing for this long means the peer stopped reading. */
  public static final Duration STALL_TIMEOUT = Duration.ofSeconds(30);
  private static final int CHUNK = 1 << 20;
  private static final int LZ4_BLOCK = 1 << 16;
  private static final int XXHASH_SEED = 0x9747b28c;  // lz4-java's own default
  private static final Duration JOIN_GRACE = Duration.ofSeconds(5);

  private final Side side;
  private final StreamSocket.Pair pair;
  /** The relay's end of the pair; CRIU has (a copy of) the other. */
  private final StreamSocket criu;
  private final RelayWire peer;
  private final boolean tls;
  private final PageCompression compression;
  private final long maxBytesPerSecond;
  private final Duration stallTimeout;
  private final long startedNanos = System.nanoTime();
  private final AtomicLong streamBytes = new AtomicLong();
  private final AtomicLong wireBytes = new AtomicLong();
  private final AtomicReference<IOException> failure = new AtomicReference<>();
  private final CountDownLatch pumps = new CountDownLatch(2);
  private final Thread[] threads = new Thread[3];
  private volatile boolean complete;
  private volatile long endedNanos;
  /** When each direction's current write began, 0 while it is not writing: the stall watch reads them. */
  private volatile long primaryWriteSince;
  private volatile long reverseWriteSince;

  private PageRelay(Side side, StreamSocket.Pair pair, RelayWire peer, PageCompression compression,
      long maxBytesPerSecond, Duration stallTimeout) {
    this.side = side;
    this.pair = pair;
    this.criu = pair.first();
    this.peer = peer;
    this.tls = peer.isTls();
    this.compression = compression;
    this.maxBytesPerSecond = maxBytesPerSecond;
    this.stallTimeout = stallTimeout;
  }

  /**
   * Starts relaying between {@code pair}'s first end and {@code peer}; the relay owns both from now on.
   * CRIU gets a copy of the second end ({@link #criuEnd()}).
   *
   * @param compression the stream's (the dumping side chooses it; the page server's reads it from the header)
   * @param maxBytesPerSecond the dumping side's cap on the bytes it puts on the wire; 0: none
   */
  public static PageRelay start(Side side, StreamSocket.Pair pair, RelayWire peer, PageCompression compression,
      long maxBytesPerSecond) {
    return start(side, pair, peer, compression, maxBytesPerSecond, STALL_TIMEOUT);
  }

  /** The same with another stall timeout (tests). */
  static PageRelay start(Side side, StreamSocket.Pair pair, RelayWire peer, PageCompression compression,
      long maxBytesPerSecond, Duration stallTimeout) {
    PageRelay relay = new PageRelay(side, pair, peer, compression, maxBytesPerSecond, stallTimeout);
    relay.threads[0] = relay.thread("page-relay-pages", relay::primary, true);
    relay.threads[1] = relay.thread("page-relay-answers", relay::reverse, true);
    relay.threads[2] = relay.thread("page-relay-stall-watch", relay::watchForStalls, false);
    for (Thread thread : relay.threads) {
      thread.start();
    }
    return relay;
  }

  /** The end to hand to CRIU; close it here once CRIU holds its copy, so CRIU's exit ends the stream. */
  public StreamSocket criuEnd() {
    return pair.second();
  }

  /** Bytes of CRIU's stream carried so far. */
  public long streamBytes() {
    return streamBytes.get();
  }

  /** Bytes put on (or taken from) the wire so far, after compression, before TLS. */
  public long wireBytes() {
    return wireBytes.get();
  }

  public Duration elapsed() {
    long end = endedNanos != 0 ? endedNanos : System.nanoTime();
    return Duration.ofNanos(end - startedNanos);
  }

  public boolean ended() {
    return pumps.getCount() == 0;
  }

  /** Why the relay failed, or null (still running, or complete). */
  public IOException failure() {
    return failure.get();
  }

  public PageRelayStats stats() {
    return PageRelayStats.newBuilder().setStreamBytes(streamBytes()).setWireBytes(wireBytes())
        .setMillis(elapsed().toMillis()).setTls(tls).setCompression(compression).build();
  }

  /**
   * Waits until the stream is over; its stats when it was complete.
   *
   * @throws IOException the relay failed, or did not end within {@code timeout} (it has been cut)
   */
  public PageRelayStats awaitEnd(Duration timeout) throws IOException, InterruptedException {
    if (!pumps.await(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      abort("the page stream was still open " + timeout.toSeconds() + " s after CRIU's end of it");
      pumps.await(JOIN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    }
    IOException failed = failure.get();
    if (failed != null) {
      throw failed;
    }
    return stats();
  }

  /** Cuts both connections (CRIU's stream breaks); does nothing once the relay has ended. */
  public void abort(String why) {
    fail(new IOException(why));
  }

  /** Cuts a running relay, waits for its threads, releases both ends. */
  @Override
  public void close() {
    if (!ended()) {
      abort("the page relay was closed");
    }
    for (Thread thread : threads) {
      try {
        thread.join(JOIN_GRACE.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    closePeer();
    pair.close();
  }

  // ---- the two directions ----

  /** The pages: CRIU to the wire (compressed, capped) when dumping; the wire to CRIU on the page server. */
  private void primary() throws IOException, InterruptedException {
    Memory native_ = new Memory(CHUNK);
    byte[] chunk = new byte[CHUNK];
    if (side == Side.DUMP) {
      OutputStream wire = new CountingOutput(peer.out(), wireBytes);
      OutputStream out = compression == PageCompression.LZ4
          ? new LZ4BlockOutputStream(wire, LZ4_BLOCK, LZ4Factory.fastestInstance().fastCompressor(), checksum(), true)
          : wire;
      int n;
      while ((n = criu.read(native_, CHUNK)) > 0) {
        native_.read(0, chunk, 0, n);
        streamBytes.addAndGet(n);
        primaryWriteSince = System.nanoTime();
        out.write(chunk, 0, n);
        out.flush();  // CRIU may wait for an answer to what it just sent
        primaryWriteSince = 0;
        throttle();
      }
      if (out instanceof LZ4BlockOutputStream lz4) {
        lz4.finish();
      }
      out.flush();
    } else {
      InputStream wire = new CountingInput(peer.in(), wireBytes);
      InputStream in = compression == PageCompression.LZ4
          ? LZ4BlockInputStream.newBuilder().withDecompressor(LZ4Factory.fastestInstance().safeDecompressor())
              .withChecksum(checksum()).build(wire)
          : wire;
      int n;
      while ((n = in.read(chunk)) > 0) {
        native_.write(0, chunk, 0, n);
        streamBytes.addAndGet(n);
        primaryWriteSince = System.nanoTime();
        criu.writeFully(native_, n);
        primaryWriteSince = 0;
      }
    }
    complete = true;
    // CRIU's last command was answered: nothing is left to carry either way.
    shutdownBoth();
  }

  /** CRIU's answers: the wire to CRIU when dumping, CRIU to the wire on the page server. */
  private void reverse() throws IOException {
    Memory native_ = new Memory(CHUNK);
    byte[] chunk = new byte[CHUNK];
    int n;
    if (side == Side.DUMP) {
      InputStream in = peer.in();
      while ((n = in.read(chunk)) > 0) {
        native_.write(0, chunk, 0, n);
        reverseWriteSince = System.nanoTime();
        criu.writeFully(native_, n);
        reverseWriteSince = 0;
      }
    } else {
      OutputStream out = peer.out();
      while ((n = criu.read(native_, CHUNK)) > 0) {
        native_.read(0, chunk, 0, n);
        reverseWriteSince = System.nanoTime();
        out.write(chunk, 0, n);
        out.flush();
        reverseWriteSince = 0;
      }
    }
    if (!complete) {
      throw new IOException(side == Side.DUMP ? "the page server's agent closed the page stream before it was complete"
          : "CRIU's page server closed its end of the page stream before it was complete");
    }
  }

  private void watchForStalls() throws InterruptedException {
    while (!pumps.await(1, TimeUnit.SECONDS)) {
      long now = System.nanoTime();
      for (long since : new long[] {primaryWriteSince, reverseWriteSince}) {
        if (since != 0 && now - since > stallTimeout.toNanos()) {
          abort("nothing could be written on the page stream for " + stallTimeout.toSeconds()
              + " s: " + (side == Side.DUMP ? "the page server's agent" : "CRIU's page server") + " stopped reading");
        }
      }
    }
  }

  /** Sleeps while the wire is ahead of the cap. */
  private void throttle() throws InterruptedException {
    if (maxBytesPerSecond <= 0) {
      return;
    }
    long due = startedNanos + (long) (wireBytes.get() * 1e9 / maxBytesPerSecond);
    long wait = due - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }

  // ---- ending ----

  private interface Pump {
    void run() throws IOException, InterruptedException;
  }

  private Thread thread(String name, Pump pump, boolean carriesBytes) {
    Thread thread = new Thread(() -> {
      try {
        pump.run();
      } catch (IOException e) {
        if (!complete) {
          fail(e);
        }
      } catch (InterruptedException e) {
        fail(new InterruptedIOException("the page relay was interrupted"));
      } catch (RuntimeException e) {
        fail(new IOException("the page relay failed: " + e, e));
      } finally {
        if (carriesBytes) {
          pumpEnded();
        }
      }
    }, name);
    thread.setDaemon(true);
    return thread;
  }

  private void pumpEnded() {
    synchronized (pumps) {
      pumps.countDown();
      if (pumps.getCount() == 0) {
        endedNanos = System.nanoTime();
      }
    }
  }

  private void fail(IOException why) {
    if (!complete && failure.compareAndSet(null, why)) {
      shutdownBoth();
    }
  }

  /** Ends every blocked read and write on both ends; the descriptors are released by close. */
  private void shutdownBoth() {
    criu.shutdown();
    closePeer();
  }

  private void closePeer() {
    peer.close();
  }

  private static Checksum checksum() {
    return XXHashFactory.fastestInstance().newStreamingHash32(XXHASH_SEED).asChecksum();
  }

  private static final class CountingOutput extends FilterOutputStream {
    private final AtomicLong count;

    CountingOutput(OutputStream out, AtomicLong count) {
      super(out);
      this.count = count;
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
      out.write(bytes, offset, length);
      count.addAndGet(length);
    }
  }

  private static final class CountingInput extends FilterInputStream {
    private final AtomicLong count;

    CountingInput(InputStream in, AtomicLong count) {
      super(in);
      this.count = count;
    }

    @Override
    public int read(byte[] bytes, int offset, int length) throws IOException {
      int n = in.read(bytes, offset, length);
      if (n > 0) {
        count.addAndGet(n);
      }
      return n;
    }
  }
}
