package dev.criumigration.agent.nativeio;

import com.sun.jna.Native;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Process trees seen through /proc, and signals. PIDs are those of this process's PID namespace. */
public final class Processes {
    /** PF_KTHREAD of include/linux/sched.h, in the flags field of /proc/PID/stat. */
    private static final long PF_KTHREAD = 0x00200000L;
    private static final long MAX_POLL_MILLIS = 50;

    private Processes() {
    }

    /** True while the PID is taken (a zombie still takes its PID). */
    public static boolean exists(int pid) {
        if (pid <= 0) {
            return false;
        }
        return LibC.INSTANCE.kill(pid, 0) == 0 || Native.getLastError() == LibC.EPERM;
    }

    /**
     * Processes whose command line starts with {@code commandPrefix} and that have a file open, or
     * their working directory, at or under {@code dir}. Processes that end meanwhile are left out.
     */
    public static List<Integer> usingFilesUnder(Path dir, String commandPrefix) throws IOException {
        Path root = dir.toAbsolutePath().normalize();
        List<Integer> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path entry : entries) {
                try {
                    String command = Files.readString(entry.resolve("cmdline")).replace('\0', ' ');
                    if (command.startsWith(commandPrefix) && usesFileUnder(entry, root)) {
                        found.add(Integer.parseInt(entry.getFileName().toString()));
                    }
                } catch (IOException gone) {
                    // it ended, or is not ours to read
                }
            }
        }
        return found;
    }

    private static boolean usesFileUnder(Path proc, Path root) throws IOException {
        if (Files.readSymbolicLink(proc.resolve("cwd")).startsWith(root)) {
            return true;
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).startsWith(root)) {
                        return true;
                    }
                } catch (IOException closed) {
                    // closed meanwhile
                }
            }
        }
        return false;
    }

    public static boolean isKernelThread(int pid) throws IOException {
        return (Long.parseLong(statFields(pid)[6]) & PF_KTHREAD) != 0;
    }

    /** The state letter of /proc/PID/stat: R, S, D, T (stopped), t (traced), Z, ... */
    public static char state(int pid) throws IOException {
        return statFields(pid)[0].charAt(0);
    }

    /**
     * The fields of /proc/PID/stat after "(comm)", which may itself hold spaces and parentheses:
     * [0] is the state, [1] the parent PID, [6] the flags.
     */
    private static String[] statFields(int pid) throws IOException {
        String stat;
        try {
            stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException("/proc/" + pid + "/stat", null, "no process " + pid);
        }
        return stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
    }

    /**
     * {@code rootPid} first, then its descendants (processes, not threads), parents before children.
     * A process that exits meanwhile is left out; a missing root is a {@link NoSuchFileException}.
     */
    public static List<Integer> tree(int rootPid) throws IOException {
        if (!Files.isDirectory(Path.of("/proc", Integer.toString(rootPid)))) {
            throw new NoSuchFileException("/proc/" + rootPid, null, "no process " + rootPid);
        }
        Set<Integer> tree = new LinkedHashSet<>();
        Deque<Integer> pending = new ArrayDeque<>(List.of(rootPid));
        while (!pending.isEmpty()) {
            int pid = pending.removeFirst();
            if (tree.add(pid)) {
                pending.addAll(children(pid));
            }
        }
        return new ArrayList<>(tree);
    }

    /** Children of every thread of {@code pid} (a thread's children file lists only the ones it forked). */
    private static List<Integer> children(int pid) throws IOException {
        List<Integer> children = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Integer.toString(pid), "task"))) {
            for (Path task : tasks) {
                for (String child : Files.readString(task.resolve("children")).trim().split("\\s+")) {
                    if (!child.isEmpty()) {
                        children.add(Integer.parseInt(child));
                    }
                }
            }
        } catch (NoSuchFileException e) {
            // The process or one of its threads has just exited.
        }
        return children;
    }

    public static void signal(int pid, int sig) throws NativeException {
        if (pid <= 0) {
            // kill(0 or negative) would signal whole process groups.
            throw new IllegalArgumentException("not a process id: " + pid);
        }
        if (LibC.INSTANCE.kill(pid, sig) != 0) {
            throw NativeException.lastError("kill", "pid " + pid + ", signal " + sig);
        }
    }

    /**
     * SIGCONT to every process of the tree. This continues even a PID namespace's init: the kernel
     * wakes stopped tasks on SIGCONT before it decides to drop the signal itself.
     */
    public static void resumeTree(int rootPid) throws IOException {
        signalTree(rootPid, LibC.SIGCONT);
    }

    /** SIGKILL to every process of the tree (killing a PID namespace's init kills the whole namespace). */
    public static void killTree(int rootPid) throws IOException {
        signalTree(rootPid, LibC.SIGKILL);
    }

    private static void signalTree(int rootPid, int sig) throws IOException {
        for (int pid : tree(rootPid)) {
            try {
                signal(pid, sig);
            } catch (NativeException e) {
                if (e.errno() != LibC.ESRCH) {
                    throw e;
                }
            }
        }
    }

    /**
     * Waits until the PID is free, reaping it if it is our own child (nobody else would, e.g. a tree
     * restored with rst_sibling); false if it is still taken after {@code timeout}. Not for the PID of a
     * {@link SpawnedProcess}: that one reaps its child itself.
     */
    public static boolean waitGone(int pid, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        while (true) {
            LibC.INSTANCE.waitpid(pid, new IntByReference(), LibC.WNOHANG);  // ECHILD when not ours: fine
            if (!exists(pid)) {
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            Thread.sleep(Math.min(pause, Math.max(1, left / 1_000_000)));
            pause = Math.min(pause * 2, MAX_POLL_MILLIS);
        }
    }
}
