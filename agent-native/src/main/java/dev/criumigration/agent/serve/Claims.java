package dev.criumigration.agent.serve;

import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.ImagesBase;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.ErrorKind;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the requests running on this host hold, for every session of the agent: the process a dump
 * freezes and the images directory a page server, a dump or a restore fills or reads. A second request
 * for the same thing, from this controller or another one, is refused with BUSY instead of two CRIUs
 * fighting over it. Undo requests (resume, kill, cleanup, kill_restored) take nothing: they must work
 * whatever else runs, and each is safe to repeat.
 */
public final class Claims {
  private final Map<String, String> holders = new HashMap<>();

  /** What {@code request} holds while it runs (nothing for a path the operation will refuse anyway). */
  static List<String> of(AgentRequest request, ImagesBase imagesBase) {
    try {
      return switch (request.getOperationCase()) {
        case PAGE_SERVER -> List.of(dir(imagesBase.imagesDir(request.getPageServer().getImagesDir())));
        case DUMP -> List.of(process(request.getDump().getPid()),
            dir(imagesBase.imagesDir(request.getDump().getImagesDir())));
        case RESTORE -> List.of(dir(imagesBase.imagesDir(request.getRestore().getImagesDir())));
        default -> List.of();
      };
    } catch (AgentException e) {
      return List.of();
    }
  }

  private static String process(int pid) {
    return "process " + pid;
  }

  private static String dir(Path dir) {
    return "images directory " + dir;
  }

  /** Takes every one of {@code wanted} for {@code holder}, or none of them when one is taken. */
  synchronized void take(List<String> wanted, String holder) throws AgentException {
    for (String thing : wanted) {
      String current = holders.get(thing);
      if (current != null) {
        throw AgentException.of(ErrorKind.BUSY, "the " + thing + " is in use by " + current,
            "wait for that migration to end (or cancel it), or choose another process or images directory");
      }
    }
    wanted.forEach(thing -> holders.put(thing, holder));
  }

  synchronized void release(List<String> taken) {
    taken.forEach(holders::remove);
  }
}
