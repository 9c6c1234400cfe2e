package dev.criumigration.agent.nativeio;

import com.sun.jna.Pointer;
import java.io.Closeable;
import java.io.IOException;

/**
 * One end of an AF_UNIX SOCK_STREAM socket pair: a byte stream, read and written in blocking calls
 * through native memory. Owns its fd. Another thread ends a blocked read or write with
 * {@link #shutdown()}; the fd is released only by {@link #close()}, once no call can still use it.
 */
public final class StreamSocket implements Closeable {
    private final Descriptor fd;

    private StreamSocket(int fd) {
        this.fd = new Descriptor(fd);
    }

    /** Both ends of a socketpair; closing the pair closes both. */
    public record Pair(StreamSocket first, StreamSocket second) implements Closeable {
        @Override
        public void close() {
            first.close();
            second.close();
        }
    }

    /** A connected pair, both ends close-on-exec (hand one to a child explicitly, e.g. with posix_spawn's dup2). */
    public static Pair pair() throws NativeException {
        int[] fds = new int[2];
        if (LibC.INSTANCE.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, fds) != 0) {
            throw NativeException.lastError("socketpair");
        }
        return new Pair(new StreamSocket(fds[0]), new StreamSocket(fds[1]));
    }

    /** Reads up to {@code count} bytes into {@code buffer}; 0 at the end of the stream. */
    public int read(Pointer buffer, int count) throws IOException {
        int socket = fd.open();
        while (true) {
            long read = LibC.INSTANCE.read(socket, buffer, count);
            if (read >= 0) {
                return (int) read;
            }
            NativeException error = NativeException.lastError("read");
            if (error.errno() != LibC.EINTR) {
                throw error;
            }
        }
    }

    /** Writes all {@code count} bytes of {@code buffer} (EPIPE once the peer or a shutdown closed the stream). */
    public void writeFully(Pointer buffer, int count) throws IOException {
        int socket = fd.open();
        long written = 0;
        while (written < count) {
            long n = LibC.INSTANCE.write(socket, buffer.share(written), count - written);
            if (n < 0) {
                NativeException error = NativeException.lastError("write");
                if (error.errno() == LibC.EINTR) {
                    continue;
                }
                throw error;
            }
            written += n;
        }
    }

    /** No more writes from this end: the peer reads the end of the stream. */
    public void shutdownOutput() throws IOException {
        shutdown(LibC.SHUT_WR);
    }

    /** Ends both directions: blocked reads here return 0, blocked writes fail. The fd stays ours. */
    public void shutdown() {
        try {
            shutdown(LibC.SHUT_RDWR);
        } catch (IOException e) {
            // closed already: nothing is blocked on it
        }
    }

    private void shutdown(int how) throws IOException {
        int socket = fd.open();
        if (LibC.INSTANCE.shutdown(socket, how) != 0) {
            NativeException error = NativeException.lastError("shutdown");
            if (error.errno() != LibC.ENOTCONN) {
                throw error;
            }
        }
    }

    public int fd() {
        return fd.fd();
    }

    /** Closes the fd; later calls do nothing. */
    @Override
    public void close() {
        fd.close();
    }
}
