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
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

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
        return (stat(pid).flags() & PF_KTHREAD) != 0;
    }

    /** The state letter of /proc/PID/stat: R, S, D, T (stopped), t (traced), Z, ... */
    public static char state(int pid) throws IOException {
        return stat(pid).state();
    }

    /** What /proc/PID/stat says of a process that the agent needs. */
    public record Stat(int pid, char state, int ppid, long flags) {
    }

    public static Stat stat(int pid) throws IOException {
        try {
            return parseStat(Files.readString(Path.of("/proc", Integer.toString(pid), "stat")));
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException("/proc/" + pid + "/stat", null, "no process " + pid);
        }
    }

    /**
     * Parses /proc/PID/stat. The command name, "(comm)", may itself hold spaces and parentheses: the
     * fields are those after the last ')', the state first, then the parent PID; the flags are the 7th.
     */
    static Stat parseStat(String stat) {
        int pidEnd = stat.indexOf(' ');
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return new Stat(Integer.parseInt(stat.substring(0, pidEnd)), fields[0].charAt(0),
                Integer.parseInt(fields[1]), Long.parseLong(fields[6]));
    }

    /** The PIDs of /proc, as {@code ps -e} lists them: processes (zombies too), not threads. */
    public static Set<Integer> pids() throws IOException {
        Set<Integer> pids = new TreeSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path entry : entries) {
                pids.add(Integer.parseInt(entry.getFileName().toString()));
            }
        }
        return pids;
    }

    /** Every process's stat; a process that ends meanwhile is left out. */
    public static List<Stat> all() throws IOException {
        List<Stat> all = new ArrayList<>();
        for (int pid : pids()) {
            try {
                all.add(stat(pid));
            } catch (NoSuchFileException gone) {
                // ended between the listing and the read
            }
        }
        return all;
    }

    /**
     * {@code rootPid} first, then its descendants (processes, not threads) breadth-first, parents
     * before children. A process that exits meanwhile is left out; a missing root is a
     * {@link NoSuchFileException}.
     */
    public static List<Integer> tree(int rootPid) throws IOException {
        List<Stat> all = all();
        if (all.stream().noneMatch(process -> process.pid() == rootPid)) {
            throw new NoSuchFileException("/proc/" + rootPid, null, "no process " + rootPid);
        }
        return treeOf(rootPid, all);
    }

    /** The tree of {@code rootPid} among {@code processes}, found by their parent PIDs, breadth-first. */
    static List<Integer> treeOf(int rootPid, List<Stat> processes) {
        Map<Integer, List<Integer>> children = new HashMap<>();
        for (Stat process : processes) {
            children.computeIfAbsent(process.ppid(), parent -> new ArrayList<>()).add(process.pid());
        }
        Set<Integer> tree = new LinkedHashSet<>();
        Deque<Integer> pending = new ArrayDeque<>(List.of(rootPid));
        while (!pending.isEmpty()) {
            int pid = pending.removeFirst();
            if (tree.add(pid)) {
                pending.addAll(children.getOrDefault(pid, List.of()));
            }
        }
        return new ArrayList<>(tree);
    }

    /** Resident memory (VmRSS); 0 for a kernel thread or a zombie, which have none. */
    public static long residentBytes(int pid) throws IOException {
        return statusField(readStatus(pid), "VmRSS").map(kib -> Long.parseLong(kib.split("\\s+")[0]) * 1024)
                .orElse(0L);
    }

    /**
     * The PID in each PID namespace it belongs to, outermost (this one) first: the NSpid line of
     * /proc/PID/status. An init of a namespace of its own ends with 1.
     */
    public static List<Integer> namespacePids(int pid) throws IOException {
        return statusField(readStatus(pid), "NSpid").map(ids -> Arrays.stream(ids.split("\\s+"))
                .map(Integer::valueOf).toList()).orElse(List.of());
    }

    private static String readStatus(int pid) throws IOException {
        try {
            return Files.readString(Path.of("/proc", Integer.toString(pid), "status"));
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException("/proc/" + pid + "/status", null, "no process " + pid);
        }
    }

    /** The value of {@code name} in a /proc/PID/status text, trimmed. */
    static Optional<String> statusField(String status, String name) {
        return status.lines().filter(line -> line.startsWith(name + ":"))
                .map(line -> line.substring(name.length() + 1).trim()).findFirst();
    }

    /** Whether {@code pid} is in another network namespace than this process. */
    public static boolean ownNetNamespace(int pid) throws IOException {
        return !Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "ns", "net"))
                .equals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")));
    }

    /** The inodes of the sockets {@code pid} holds open (its fd links "socket:[INODE]"). */
    public static Set<Long> socketInodes(int pid) throws IOException {
        Set<Long> inodes = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", Integer.toString(pid), "fd"))) {
            for (Path fd : fds) {
                try {
                    socketInode(Files.readSymbolicLink(fd).toString()).ifPresent(inodes::add);
                } catch (NoSuchFileException closed) {
                    // closed meanwhile
                }
            }
        }
        return inodes;
    }

    /** The inode of an fd link's target "socket:[INODE]", empty for anything else. */
    static Optional<Long> socketInode(String link) {
        return link.startsWith("socket:[") && link.endsWith("]")
                ? Optional.of(Long.parseLong(link.substring("socket:[".length(), link.length() - 1)))
                : Optional.empty();
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
