package dev.criumigration.agent.ops;

import dev.criumigration.agent.images.ImageSet;
import dev.criumigration.agent.nativeio.StreamSocket;
import dev.criumigration.agent.pagestream.PageRelay;
import dev.criumigration.agent.pagestream.RelayConnector;
import dev.criumigration.agent.pagestream.RelayTls;
import dev.criumigration.agent.pagestream.RelayWire;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.PageRelayOptions;
import dev.criumigration.agent.protocol.Progress;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/** The dump's side of the agents' page relay: connected before CRIU starts, its progress, its end. */
final class DumpRelay {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration PROGRESS_INTERVAL = Duration.ofSeconds(1);
  private static final Duration END_GRACE = Duration.ofSeconds(5);

  private DumpRelay() {}

  /** Connects to the page server's agent and starts relaying into a socket pair whose other end CRIU gets. */
  static PageRelay start(Arguments.HostPort pageServer, RelayTls tls, PageRelayOptions options, OperationContext context)
      throws AgentException {
    Duration timeout = context.deadline().remaining().compareTo(CONNECT_TIMEOUT) < 0
        ? context.deadline().remaining() : CONNECT_TIMEOUT;
    RelayWire peer;
    try {
      peer = RelayConnector.connect(pageServer.host(), pageServer.port(), tls, options.getCompression(),
          timeout);
    } catch (SSLException e) {
      throw AgentException.of(ErrorKind.TLS_HANDSHAKE, "the page relay's TLS handshake with " + pageServer.host() + ":"
          + pageServer.port() + " failed (" + e.getMessage() + "); nothing was frozen",
          "both sides need certificates of the same CA, the page server's naming the address " + pageServer.host());
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot reach the page relay at " + pageServer.host() + ":"
          + pageServer.port() + " (" + e.getMessage() + "); nothing was frozen",
          "is the page server listening there with --page-transport relay? start it with criu-agent page-server");
    }
    try {
      return PageRelay.start(PageRelay.Side.DUMP, StreamSocket.pair(), peer, options.getCompression(),
          options.getMaxBytesPerSecond());
    } catch (IOException e) {
      peer.close();
      throw AgentException.of(ErrorKind.IO, "cannot start the page relay: " + e.getMessage(), "");
    }
  }

  /** CRIU succeeded, so its stream was complete: the relay ends with it (a stray failure is only logged). */
  static void awaitEnd(PageRelay relay, OperationContext context) throws InterruptedException {
    try {
      relay.awaitEnd(END_GRACE);
    } catch (IOException e) {
      context.listener().log("the page relay ended with: " + e.getMessage());
    }
  }

  /** A progress event about once a second while the relay carries pages. */
  static Closeable reportProgress(PageRelay relay, OperationContext context) {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "page-relay-progress");
      thread.setDaemon(true);
      return thread;
    });
    long[] lastBytes = {-1};
    timer.scheduleAtFixedRate(() -> {
      long bytes = relay.streamBytes();
      if (bytes != lastBytes[0] && !relay.ended()) {
        lastBytes[0] = bytes;
        context.listener().progress(Progress.newBuilder().setStage("sending pages").setBytes(bytes)
            .setPages(bytes / ImageSet.PAGE_SIZE).setWireBytes(relay.wireBytes())
            .setElapsedMillis(relay.elapsed().toMillis()).build());
      }
    }, PROGRESS_INTERVAL.toMillis(), PROGRESS_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    return timer::shutdownNow;
  }
}
