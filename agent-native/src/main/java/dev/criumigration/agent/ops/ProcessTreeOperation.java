package dev.criumigration.agent.ops;

import dev.criumigration.agent.nativeio.Processes;
import dev.criumigration.agent.nativeio.TcpListeners;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.protocol.ProcessTree;
import dev.criumigration.agent.protocol.ProcessTreeRequest;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tree rooted at a PID as this host sees it, for the preflight: its processes (root first, then
 * breadth-first by parent PID), their resident memory, whether the root has a PID and a network
 * namespace of its own, and the TCP ports the tree listens on when it shares the agent's network.
 */
public final class ProcessTreeOperation implements Operation<ProcessTree> {
  private final ProcessTreeRequest request;

  public ProcessTreeOperation(ProcessTreeRequest request) {
    this.request = request;
  }

  @Override
  public Duration defaultTimeout() {
    return Duration.ofSeconds(10);
  }

  @Override
  public ProcessTree run(OperationContext context) throws AgentException {
    int root = request.getPid();
    if (root <= 0) {
      throw noSuchProcess(root);
    }
    try {
      List<Integer> pids = Processes.tree(root);
      long resident = 0;
      for (int pid : pids) {
        resident += residentBytes(pid);
      }
      List<Integer> namespacePids = Processes.namespacePids(root);
      boolean ownNetwork = Processes.ownNetNamespace(root);
      ProcessTree.Builder tree = ProcessTree.newBuilder().setRoot(root).addAllPids(pids).setResidentBytes(resident)
          .setOwnPidNamespace(namespacePids.size() > 1 && namespacePids.get(namespacePids.size() - 1) == 1)
          .setOwnNetNamespace(ownNetwork);
      if (!ownNetwork) {
        tree.addAllListeningPorts(listeningPorts(pids));
      }
      return tree.build();
    } catch (NoSuchFileException gone) {
      throw noSuchProcess(root);
    } catch (IOException e) {
      throw AgentException.of(ErrorKind.IO, "cannot read the tree of process " + root + " from /proc: "
          + e.getMessage(), "");
    }
  }

  private static AgentException noSuchProcess(int pid) {
    return AgentException.usage("there is no process " + pid + " on this host",
        "give the PID of the tree's root as the source host sees it (e.g. from pgrep)");
  }

  /** A process that ended since the tree was listed holds no memory. */
  private static long residentBytes(int pid) throws IOException {
    try {
      return Processes.residentBytes(pid);
    } catch (NoSuchFileException gone) {
      return 0;
    }
  }

  /** Ports of the listening sockets that a process of the tree holds open. */
  private static Set<Integer> listeningPorts(List<Integer> pids) throws IOException {
    Set<Long> inodes = new HashSet<>();
    for (int pid : pids) {
      try {
        inodes.addAll(Processes.socketInodes(pid));
      } catch (NoSuchFileException gone) {
        // ended since the tree was listed
      }
    }
    Set<Integer> ports = new TreeSet<>();
    for (TcpListeners.Listener listener : TcpListeners.all()) {
      if (inodes.contains(listener.inode())) {
        ports.add(listener.port());
      }
    }
    return ports;
  }
}
