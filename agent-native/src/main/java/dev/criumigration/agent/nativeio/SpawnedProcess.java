package dev.criumigration.agent.nativeio;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.StringArray;
import com.sun.jna.ptr.IntByReference;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * A child started with posix_spawn, which (unlike ProcessBuilder) can hand some of our descriptors to
 * the child. The child gets stdin from /dev/null, stdout and stderr appended to a file, its own
 * session (a terminal's Ctrl-C does not reach it), default signal handling, and no other descriptor of
 * ours.
 */
public final class SpawnedProcess implements Closeable {
    private static final long MAX_POLL_MILLIS = 50;

    private final int pid;
    private final String program;
    /** The raw wait status once reaped; the PID may belong to someone else after that. */
    private Integer waitStatus;

    private SpawnedProcess(int pid, String program) {
        this.pid = pid;
        this.program = program;
    }

    /**
     * @param argv       argv[0] is the program (a path, or a name looked up in PATH)
     * @param extraEnv   added to (and overriding) this JVM's environment
     * @param handedOver our descriptors to hand over: the number each gets in the child (≥ 3) to ours
     * @param outputFile stdout and stderr are appended here (created 0600)
     */
    public static SpawnedProcess spawn(List<String> argv, Map<String, String> extraEnv, Map<Integer, Integer> handedOver,
                                       Path outputFile) throws IOException {
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("argv is empty");
        }
        for (int childFd : handedOver.keySet()) {
            if (childFd < 3) {
                throw new IllegalArgumentException("a handed-over descriptor's number must be 3 or more, not " + childFd);
            }
            // Ours must not sit where another of ours goes: the dup2 actions run in order.
            if (handedOver.containsKey(handedOver.get(childFd)) && handedOver.get(childFd) != childFd) {
                throw new IllegalArgumentException("descriptor " + handedOver.get(childFd) + " is also a target number");
            }
        }
        LibC libc = LibC.INSTANCE;
        // Listed before the file actions exist: descriptors opened by other threads after this moment and
        // without close-on-exec could still leak into the child (ours are all close-on-exec).
        List<Integer> ourFds = openDescriptors();
        Memory actions = new Memory(LibC.SPAWN_FILE_ACTIONS_SIZE);
        Memory attributes = new Memory(LibC.SPAWN_ATTR_SIZE);
        Memory emptySet = new Memory(LibC.SIGSET_SIZE);
        Memory allSignals = new Memory(LibC.SIGSET_SIZE);
        check("posix_spawn_file_actions_init", libc.posix_spawn_file_actions_init(actions));
        try {
            check("posix_spawnattr_init", libc.posix_spawnattr_init(attributes));
            try {
                String output = outputFile.toAbsolutePath().toString();
                check("posix_spawn_file_actions_addopen", libc.posix_spawn_file_actions_addopen(actions, 0, "/dev/null", LibC.O_RDONLY, 0));
                check("posix_spawn_file_actions_addopen", libc.posix_spawn_file_actions_addopen(actions, 1, output,
                        LibC.O_WRONLY | LibC.O_CREAT | LibC.O_APPEND, 0600));
                check("posix_spawn_file_actions_adddup2", libc.posix_spawn_file_actions_adddup2(actions, 1, 2));
                for (Map.Entry<Integer, Integer> fd : handedOver.entrySet()) {
                    // dup2 onto itself clears close-on-exec (glibc 2.29+, POSIX 2024).
                    check("posix_spawn_file_actions_adddup2", libc.posix_spawn_file_actions_adddup2(actions, fd.getValue(), fd.getKey()));
                }
                for (int fd : ourFds) {
                    if (fd > 2 && !handedOver.containsKey(fd)) {
                        check("posix_spawn_file_actions_addclose", libc.posix_spawn_file_actions_addclose(actions, fd));
                    }
                }
                if (libc.sigemptyset(emptySet) != 0 || libc.sigfillset(allSignals) != 0) {
                    throw NativeException.lastError("sigemptyset/sigfillset");
                }
                check("posix_spawnattr_setsigmask", libc.posix_spawnattr_setsigmask(attributes, emptySet));
                check("posix_spawnattr_setsigdefault", libc.posix_spawnattr_setsigdefault(attributes, allSignals));
                check("posix_spawnattr_setflags", libc.posix_spawnattr_setflags(attributes,
                        (short) (LibC.POSIX_SPAWN_SETSID | LibC.POSIX_SPAWN_SETSIGMASK | LibC.POSIX_SPAWN_SETSIGDEF)));

                IntByReference pid = new IntByReference();
                StringArray args = new StringArray(argv.toArray(new String[0]));
                StringArray env = new StringArray(environment(extraEnv));
                String program = argv.get(0);
                int error = program.contains("/")
                        ? libc.posix_spawn(pid, program, actions, attributes, args, env)
                        : libc.posix_spawnp(pid, program, actions, attributes, args, env);
                if (error != 0) {
                    throw new NativeException("posix_spawn", error, program);
                }
                return new SpawnedProcess(pid.getValue(), program);
            } finally {
                libc.posix_spawnattr_destroy(attributes);
            }
        } finally {
            libc.posix_spawn_file_actions_destroy(actions);
        }
    }

    private static void check(String call, int error) throws NativeException {
        if (error != 0) {
            throw new NativeException(call, error);
        }
    }

    private static List<Integer> openDescriptors() throws IOException {
        List<Integer> fds = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path entry : entries) {
                fds.add(Integer.parseInt(entry.getFileName().toString()));
            }
        }
        return fds;
    }

    private static String[] environment(Map<String, String> extraEnv) {
        Map<String, String> env = new TreeMap<>(System.getenv());
        env.putAll(extraEnv);
        return env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toArray(String[]::new);
    }

    public int pid() {
        return pid;
    }

    /** True until the child has exited (an exited child is reaped here). */
    public boolean isAlive() {
        return reapIfExited().isEmpty();
    }

    /** The raw wait status (see {@link WaitStatus}) once the child exited, empty if it still runs after {@code timeout}. */
    public OptionalInt waitFor(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1;
        while (true) {
            OptionalInt status = reapIfExited();
            long left = deadline - System.nanoTime();
            if (status.isPresent() || left <= 0) {
                return status;
            }
            Thread.sleep(Math.min(pause, Math.max(1, left / 1_000_000)));
            pause = Math.min(pause * 2, MAX_POLL_MILLIS);
        }
    }

    /** SIGKILL, then reaps it. Does nothing once reaped. */
    public void kill() {
        synchronized (this) {
            if (waitStatus != null) {
                return;
            }
            // Still our unreaped child, so the PID cannot have been reused.
            LibC.INSTANCE.kill(pid, LibC.SIGKILL);
            IntByReference status = new IntByReference();
            while (true) {
                int reaped = LibC.INSTANCE.waitpid(pid, status, 0);
                if (reaped == pid) {
                    waitStatus = status.getValue();
                    return;
                }
                int errno = Native.getLastError();
                if (errno != LibC.EINTR) {
                    throw new IllegalStateException(new NativeException("waitpid", errno, program + " pid " + pid));
                }
            }
        }
    }

    /** Kills the child if it still runs, and reaps it. */
    @Override
    public void close() {
        kill();
    }

    private synchronized OptionalInt reapIfExited() {
        if (waitStatus == null) {
            IntByReference status = new IntByReference();
            int reaped = LibC.INSTANCE.waitpid(pid, status, LibC.WNOHANG);
            if (reaped == pid) {
                waitStatus = status.getValue();
            } else if (reaped < 0) {
                int errno = Native.getLastError();
                if (errno != LibC.EINTR) {
                    // ECHILD: someone else reaped our child, which only a bug here can do.
                    throw new IllegalStateException(new NativeException("waitpid", errno, program + " pid " + pid));
                }
            }
        }
        return waitStatus == null ? OptionalInt.empty() : OptionalInt.of(waitStatus);
    }

    @Override
    public String toString() {
        return program + " (pid " + pid + ")";
    }
}
