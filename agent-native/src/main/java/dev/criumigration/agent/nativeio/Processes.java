package dev.criumigration.agent.nativeio;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/** Process trees seen through /proc and signals. */
public final class Processes {
    private Processes() {
    }

    // TODO(agent-core): not implemented yet; the signatures are stable.

    /** True while the PID is taken (a zombie still takes its PID). */
    public static boolean exists(int pid) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public static boolean isKernelThread(int pid) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** The state letter of /proc/PID/stat: R, S, D, T (stopped), t (traced), Z, ... */
    public static char state(int pid) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** {@code rootPid} first, then its descendants (processes, not threads). */
    public static List<Integer> tree(int rootPid) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public static void signal(int pid, int sig) throws NativeException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** SIGCONT to every process of the tree (this continues even a PID namespace's init). */
    public static void resumeTree(int rootPid) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** SIGKILL to every process of the tree. */
    public static void killTree(int rootPid) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Waits until the PID is free (reaping it if it is our child); false if still taken after {@code timeout}. */
    public static boolean waitGone(int pid, Duration timeout) throws InterruptedException {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
