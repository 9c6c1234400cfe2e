package dev.criumigration.migration.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What /proc says about processes, for tests that check what a migration left behind. */
final class Procs {
    private Procs() {}

    static List<Integer> pids() throws IOException {
        List<Integer> pids = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path entry : entries) {
                pids.add(Integer.parseInt(entry.getFileName().toString()));
            }
        }
        return pids;
    }

    static List<String> cmdline(int pid) {
        try {
            String raw = new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8);
            return raw.isEmpty() ? List.of() : List.of(raw.split("\0"));
        } catch (IOException gone) {
            return List.of();
        }
    }

    static String comm(int pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/comm")).strip();
        } catch (IOException gone) {
            return "";
        }
    }

    /** The state letter (R, S, T, t, Z...), or 0 for no such process. */
    static char state(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2);
        } catch (IOException gone) {
            return 0;
        }
    }

    /** The PID in its innermost PID namespace (1 for a namespace's init), or -1. */
    static int nsPid(int pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("NSpid:")) {
                    String[] ids = line.substring(6).trim().split("\\s+");
                    return Integer.parseInt(ids[ids.length - 1]);
                }
            }
        } catch (IOException | RuntimeException gone) {
            // exited
        }
        return -1;
    }

    /** ", traced by PID N (its command line)" when something traces {@code pid}, else "". */
    static String tracer(int pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith("TracerPid:")) {
                    int tracer = Integer.parseInt(line.substring(10).trim());
                    return tracer == 0 ? "" : ", traced by PID " + tracer + " " + cmdline(tracer);
                }
            }
        } catch (IOException | RuntimeException gone) {
            // exited
        }
        return "";
    }

    static void signal(int pid, String signal) {
        try {
            new ProcessBuilder("kill", "-" + signal, String.valueOf(pid)).start().waitFor();
        } catch (IOException e) {
            // best effort
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Mount points under {@code root}. */
    static List<String> mountsUnder(Path root) throws IOException {
        List<String> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
            String mountPoint = line.split(" ")[1];
            if (mountPoint.startsWith(root.toString())) {
                mounts.add(mountPoint);
            }
        }
        return mounts;
    }

    /**
     * Lazily unmounts every mount under {@code root}, deepest first: what a failed test left mounted
     * must not outlive the run (the test has already failed for it).
     */
    static void unmountAllUnder(Path root) throws IOException, InterruptedException {
        List<String> mounts = mountsUnder(root);
        mounts.sort(java.util.Comparator.reverseOrder());
        for (String mountPoint : mounts) {
            Process umount = new ProcessBuilder("umount", "-l", mountPoint).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!umount.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                umount.destroyForcibly();
            }
        }
    }

    /** PIDs whose command name is {@code comm}. */
    static List<Integer> byComm(String comm) throws IOException {
        List<Integer> found = new ArrayList<>();
        for (int pid : pids()) {
            if (comm.equals(comm(pid))) {
                found.add(pid);
            }
        }
        return found;
    }

    /** PIDs of agents serving (criu-agent-*.jar serve) or detached page servers. */
    static List<Integer> agents() throws IOException {
        List<Integer> found = new ArrayList<>();
        for (int pid : pids()) {
            List<String> argv = cmdline(pid);
            boolean serving = argv.contains("serve") && argv.stream().anyMatch(a -> a.contains("criu-agent-"));
            boolean detached = argv.stream().anyMatch(a -> a.endsWith("DetachedPageServer"));
            if (serving || detached) {
                found.add(pid);
            }
        }
        return found;
    }
}
