package dev.criumigration.agent.pagestream;

import dev.criumigration.agent.nativeio.StreamSocket;
import dev.criumigration.agent.protocol.PageRelayStats;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * The page server's agent's half of a relay: the listener the dump connects to, the socket pair whose
 * other end CRIU's page server reads, and, once a dump has connected, the relay between them. Owns
 * them all.
 */
public final class PageServerRelay implements Closeable {
  private final RelayListener listener;
  private final StreamSocket.Pair pair;
  private final boolean tls;
  private Thread acceptor;
  private volatile PageRelay relay;
  private volatile IOException acceptFailure;

  private PageServerRelay(RelayListener listener, StreamSocket.Pair pair, boolean tls) {
    this.listener = listener;
    this.pair = pair;
    this.tls = tls;
  }

  /** Listens on {@code address}:{@code port} (0: any free port); {@code tls} null: plain. */
  public static PageServerRelay open(String address, int port, RelayTls tls) throws IOException {
    RelayListener listener = RelayListener.open(address, port, tls);
    try {
      return new PageServerRelay(listener, StreamSocket.pair(), tls != null);
    } catch (IOException e) {
      listener.close();
      throw e;
    }
  }

  public int port() {
    return listener.port();
  }

  /** The end CRIU's page server gets (a copy of it: close this one once CRIU holds it). */
  public StreamSocket criuEnd() {
    return pair.second();
  }

  /**
   * Waits in the background for the dump's connection, then relays it into CRIU's page server. When no
   * dump authenticates within {@code timeout}, or the listener fails, {@code onFailure} runs (it stops
   * the page server, which has nothing to wait for any more).
   */
  public void startAccepting(Duration timeout, Consumer<String> log, Runnable onFailure) {
    acceptor = new Thread(() -> {
      try {
        RelayListener.Peer peer = listener.accept(timeout, log);
        relay = PageRelay.start(PageRelay.Side.PAGE_SERVER, pair, peer.wire(), peer.compression(), 0);
        log.accept("a dump connected to the page relay from " + peer.wire().remote()
            + (tls ? " (TLS 1.3, its certificate verified)" : " (plain TCP)"));
      } catch (IOException e) {
        acceptFailure = e;
        onFailure.run();
      }
    }, "page-relay-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Bytes of CRIU's stream received so far. */
  public long streamBytes() {
    PageRelay running = relay;
    return running == null ? 0 : running.streamBytes();
  }

  /**
   * Once CRIU's page server has ended: waits briefly for the relay to end too, and says how it went.
   * {@code null} stats when no dump ever connected.
   */
  public Outcome finish(Duration grace) throws InterruptedException {
    listener.close();
    if (acceptor != null) {
      acceptor.join(grace.toMillis());
    }
    PageRelay running = relay;
    if (running == null) {
      return new Outcome(null, acceptFailure);
    }
    try {
      return new Outcome(running.awaitEnd(grace), null);
    } catch (IOException e) {
      return new Outcome(running.stats(), e);
    }
  }

  /** What the relay carried (null: no dump connected) and why it failed (null: it did not). */
  public record Outcome(PageRelayStats stats, IOException failure) {}

  @Override
  public void close() {
    listener.close();
    if (acceptor != null) {
      try {
        acceptor.join(Duration.ofSeconds(5).toMillis());  // its accept fails at once now
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    PageRelay running = relay;
    if (running != null) {
      running.close();  // releases the pair
    }
    pair.close();
  }
}
