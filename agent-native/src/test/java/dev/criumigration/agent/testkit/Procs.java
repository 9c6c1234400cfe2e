package dev.criumigration.agent.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** What tests ask of /proc about processes they did not start themselves. */
public final class Procs {
  private Procs() {}

  /** The state letter of /proc/PID/stat (R, S, T, Z, ...), or '-' when the process is gone. */
  public static char state(int pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2);
    } catch (IOException gone) {
      return '-';
    }
  }

  public static boolean alive(int pid) {
    char state = state(pid);
    return state != '-' && state != 'Z' && state != 'X';
  }

  /** PID and its descendants, parents first. */
  public static List<Integer> tree(int pid) {
    List<Integer> tree = new ArrayList<>();
    collect(pid, tree);
    return tree;
  }

  private static void collect(int pid, List<Integer> tree) {
    tree.add(pid);
    Path tasks = Path.of("/proc", Integer.toString(pid), "task");
    try (var threads = Files.list(tasks)) {
      for (Path task : threads.toList()) {
        for (String child : Files.readString(task.resolve("children")).trim().split("\\s+")) {
          if (!child.isEmpty()) {
            collect(Integer.parseInt(child), tree);
          }
        }
      }
    } catch (IOException gone) {
      // the process exited while we looked
    }
  }

  /** SIGKILL to PID and its descendants (a PID-namespace init takes its namespace with it). */
  public static void killTree(int pid) {
    if (pid <= 1) {
      throw new IllegalArgumentException("refusing to kill pid " + pid);
    }
    for (int member : tree(pid)) {
      ProcessHandle.of(member).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  public static void awaitGone(int pid, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (alive(pid) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    if (alive(pid)) {
      throw new AssertionError("process " + pid + " still alive after " + timeout);
    }
  }
}
