package dev.criumigration.agent.nativeio;

/** Decodes a raw waitpid(2) status (as from {@link SpawnedProcess#waitFor} or CRIU's WAIT_PID). */
public final class WaitStatus {
    private WaitStatus() {
    }

    public static boolean exited(int status) {
        return (status & 0x7f) == 0;
    }

    public static int exitCode(int status) {
        return (status >> 8) & 0xff;
    }

    public static boolean signaled(int status) {
        int signal = status & 0x7f;
        return signal != 0 && signal != 0x7f;
    }

    public static int termSignal(int status) {
        return status & 0x7f;
    }

    /** "exit status 0", "killed by signal 9". */
    public static String describe(int status) {
        if (exited(status)) {
            return "exit status " + exitCode(status);
        }
        if (signaled(status)) {
            return "killed by signal " + termSignal(status) + ((status & 0x80) != 0 ? " (core dumped)" : "");
        }
        return "wait status 0x" + Integer.toHexString(status);
    }
}
