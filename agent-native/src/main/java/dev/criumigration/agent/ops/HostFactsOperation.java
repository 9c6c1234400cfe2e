package dev.criumigration.agent.ops;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.nativeio.TcpListeners;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.HostFacts;
import dev.criumigration.agent.protocol.HostFactsRequest;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a restored tree would need that is in use on this host (PIDs, listening TCP ports of the
 * agent's network namespace), and this host's address on its route to a peer.
 */
public final class HostFactsOperation implements Operation<HostFacts> {
  /** Any port will do: a UDP connect only picks the route and the source address, it sends nothing. */
  private static final int ROUTE_PROBE_PORT = 9;

  private final HostFactsRequest request;

  public HostFactsOperation(HostFactsRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofSeconds(10);
  }

  @Override
  public HostFacts run(OperationContext context) throws AgentException {
    HostFacts.Builder facts = HostFacts.newBuilder();
    try {
      Set<Integer> present = Processes.pids();
      request.getPidsList().stream().filter(present::contains).distinct().sorted().forEach(facts::addPidsInUse);
      Set<Integer> ports = new TreeSet<>();
      TcpListeners.all().forEach(listener -> ports.add(listener.port()));
      facts.addAllListeningPorts(ports);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot read this host's processes and sockets from /proc: "
          + e.getMessage(), "");
    }
    if (!request.getPeer().isEmpty()) {
      facts.setAddressTowardPeer(addressToward(request.getPeer()));
    }
    return facts.build();
  }

  /** This host's source address on its route to {@code peer}, as the kernel would choose it. */
  static String addressToward(String peer) throws AgentException {
    String hint = "give the page server's address explicitly (an address of this host that the source reaches)";
    InetAddress address;
    try {
      address = InetAddress.getByName(peer);
    } catch (UnknownHostException e) {
      throw AgentException.usage("this host cannot resolve the peer '" + peer + "'", hint);
    }
    try (DatagramSocket probe = new DatagramSocket()) {
      probe.connect(new InetSocketAddress(address, ROUTE_PROBE_PORT));
      InetAddress local = probe.getLocalAddress();
      if (local.isAnyLocalAddress()) {
        throw new IOException("no source address chosen");
      }
      return local.getHostAddress();
    } catch (IOException e) {
      throw AgentException.usage("this host has no route to the peer '" + peer + "' (" + address.getHostAddress()
          + "): " + e.getMessage(), hint);
    }
  }
}
