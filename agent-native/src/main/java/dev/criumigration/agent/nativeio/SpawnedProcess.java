package dev.criumigration.agent.nativeio;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * A child started with posix_spawn, which (unlike ProcessBuilder) can hand one of our descriptors to
 * the child. The child gets stdin from /dev/null, stdout and stderr appended to a file, its own
 * session, and no other descriptor of ours.
 */
public final class SpawnedProcess implements Closeable {

    // TODO(agent-core): not implemented yet; the signatures are stable.

    /**
     * @param argv          argv[0] is the program (a path, or a name looked up in PATH)
     * @param extraEnv      added to (and overriding) this JVM's environment
     * @param inheritedFd   our descriptor to hand over, or -1 for none
     * @param childFdNumber the number it gets in the child (≥ 3)
     * @param outputFile    stdout and stderr are appended here (created 0600)
     */
    public static SpawnedProcess spawn(List<String> argv, Map<String, String> extraEnv, int inheritedFd,
                                       int childFdNumber, Path outputFile) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public int pid() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** True until the child has been reaped (a zombie not yet reaped here is reaped and reported dead). */
    public boolean isAlive() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** The raw wait status (see {@link WaitStatus}) once the child exited, empty if it still runs after {@code timeout}. */
    public OptionalInt waitFor(Duration timeout) throws InterruptedException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** SIGKILL, then reaps it. Does nothing once reaped. */
    public void kill() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Kills the child if it still runs, and reaps it. */
    @Override
    public void close() {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
