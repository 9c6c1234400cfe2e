package dev.criumigration.migration;

import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.ssh.CommandResult;
import dev.criumigration.migration.ssh.RemoteHost;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Looks at processes on a host with standard tools (ps, /proc, ss) for the preflight and to confirm
 * which trees run: fixed commands with numeric arguments only.
 */
final class HostProbe {
    private static final Pattern SS_PID = Pattern.compile("pid=(\\d+)");

    /** A process tree as the source sees it. */
    record Tree(int root, List<Integer> pids, long residentBytes, boolean ownPidNamespace, boolean ownNetNamespace,
                Set<Integer> listeningPorts) {}

    private HostProbe() {}

    static Tree tree(RemoteHost host, int root) throws MigrationException {
        Members members = members(host, root);
        boolean ownPidNs = ownPidNamespace(host, root);
        boolean ownNetNs = ownNetNamespace(host, root);
        Set<Integer> ports = ownNetNs ? Set.of() : listeningPorts(host, new LinkedHashSet<>(members.pids()));
        return new Tree(root, members.pids(), members.residentBytes(), ownPidNs, ownNetNs, ports);
    }

    /** The processes of a tree, root first, and their resident memory. */
    private record Members(List<Integer> pids, long residentBytes) {}

    private static Members members(RemoteHost host, int root) throws MigrationException {
        Map<Integer, List<Integer>> children = new HashMap<>();
        Map<Integer, Long> rssKib = new HashMap<>();
        CommandResult ps = mustRun(host, List.of("ps", "-e", "-o", "pid=,ppid=,rss="), false);
        for (String line : ps.stdout().split("\\R")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length < 3) {
                continue;
            }
            int pid = Integer.parseInt(fields[0]);
            children.computeIfAbsent(Integer.parseInt(fields[1]), k -> new ArrayList<>()).add(pid);
            rssKib.put(pid, Long.parseLong(fields[2]));
        }
        if (!rssKib.containsKey(root)) {
            throw new MigrationException(null, Kind.USAGE, "there is no process " + root + " on " + host.address(),
                    "give the PID of the tree's root as the source host sees it (e.g. from pgrep)");
        }
        List<Integer> pids = new ArrayList<>();
        List<Integer> todo = new ArrayList<>(List.of(root));
        long resident = 0;
        while (!todo.isEmpty()) {
            int pid = todo.remove(0);
            pids.add(pid);
            resident += rssKib.getOrDefault(pid, 0L) * 1024;
            todo.addAll(children.getOrDefault(pid, List.of()));
        }
        return new Members(List.copyOf(pids), resident);
    }

    /** The root is the init (PID 1) of a PID namespace of its own. */
    private static boolean ownPidNamespace(RemoteHost host, int pid) throws MigrationException {
        CommandResult status = mustRun(host, List.of("cat", "/proc/" + pid + "/status"), false);
        for (String line : status.stdout().split("\\R")) {
            if (line.startsWith("NSpid:")) {
                String[] ids = line.substring(6).trim().split("\\s+");
                return ids.length > 1 && ids[ids.length - 1].equals("1");
            }
        }
        return false;
    }

    private static boolean ownNetNamespace(RemoteHost host, int pid) throws MigrationException {
        CommandResult links = mustRun(host, List.of("readlink", "/proc/" + pid + "/ns/net", "/proc/self/ns/net"), true);
        String[] lines = links.stdout().strip().split("\\R");
        return lines.length == 2 && !lines[0].equals(lines[1]);
    }

    /** TCP ports the tree listens on (it shares the host's network namespace). */
    private static Set<Integer> listeningPorts(RemoteHost host, Set<Integer> pids) throws MigrationException {
        Set<Integer> ports = new TreeSet<>();
        for (String line : ss(host, List.of("ss", "-Htlnp"))) {
            Matcher m = SS_PID.matcher(line);
            while (m.find()) {
                if (pids.contains(Integer.parseInt(m.group(1)))) {
                    ports.add(localPort(line));
                    break;
                }
            }
        }
        return ports;
    }

    /** TCP ports something listens on, on the host. */
    static Set<Integer> portsInUse(RemoteHost host) throws MigrationException {
        Set<Integer> ports = new TreeSet<>();
        for (String line : ss(host, List.of("ss", "-Htln"))) {
            ports.add(localPort(line));
        }
        return ports;
    }

    /** Which of {@code pids} exist on the host. */
    static Set<Integer> pidsInUse(RemoteHost host, List<Integer> pids) throws MigrationException {
        Set<Integer> inUse = new TreeSet<>();
        CommandResult ps = mustRun(host, List.of("ps", "-e", "-o", "pid="), false);
        Set<Integer> wanted = new LinkedHashSet<>(pids);
        for (String line : ps.stdout().split("\\R")) {
            if (!line.isBlank() && wanted.contains(Integer.parseInt(line.trim()))) {
                inUse.add(Integer.parseInt(line.trim()));
            }
        }
        return inUse;
    }

    /** The process state letter from /proc/PID/stat (R, S, D, T, t, Z, ...), or 0 when there is no such process. */
    static char state(RemoteHost host, int pid) throws MigrationException {
        CommandResult stat = host.run(List.of("cat", "/proc/" + pid + "/stat"), false);
        if (!stat.ok()) {
            return 0;
        }
        String text = stat.stdout();
        int close = text.lastIndexOf(')');
        return close < 0 || close + 2 >= text.length() ? 0 : text.charAt(close + 2);
    }

    /**
     * SIGKILLs the tree rooted at {@code root} (the root last seen first: a PID-namespace init takes its
     * namespace with it) and waits until the root is gone. True when it is.
     */
    static boolean killTree(RemoteHost host, int root, java.time.Duration wait) throws MigrationException {
        if (state(host, root) == 0) {
            return true;
        }
        List<String> kill = new ArrayList<>(List.of("kill", "-KILL", "--"));
        members(host, root).pids().forEach(pid -> kill.add(String.valueOf(pid)));
        host.run(kill, true);
        long until = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < until) {
            char state = state(host, root);
            if (state == 0 || state == 'Z' || state == 'X') {
                return true;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    static boolean running(char state) {
        return state == 'R' || state == 'S' || state == 'D' || state == 'I';
    }

    private static List<String> ss(RemoteHost host, List<String> argv) throws MigrationException {
        CommandResult result = host.run(argv, true);
        if (!result.ok()) {
            throw new MigrationException(null, Kind.HOST_NOT_READY, host.address() + ": '" + String.join(" ", argv)
                    + "' failed: " + result.firstErrorLine(), "install iproute2 (ss), or run the workload in its own "
                    + "network namespace");
        }
        return result.stdout().lines().filter(line -> !line.isBlank()).toList();
    }

    private static int localPort(String ssLine) {
        String[] fields = ssLine.trim().split("\\s+");
        String local = fields.length > 3 ? fields[3] : "";
        return Integer.parseInt(local.substring(local.lastIndexOf(':') + 1));
    }

    private static CommandResult mustRun(RemoteHost host, List<String> argv, boolean privileged)
            throws MigrationException {
        CommandResult result = host.run(argv, privileged);
        if (!result.ok()) {
            throw new MigrationException(null, Kind.REMOTE, host.address() + ": '" + String.join(" ", argv)
                    + "' failed: " + result.firstErrorLine(), "");
        }
        return result;
    }
}
