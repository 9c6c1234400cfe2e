package dev.criumigration.agent.nativeio;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;

/**
 * One end of an AF_UNIX SOCK_SEQPACKET socket: whole messages in, whole messages out. Owns its fd.
 * Empty messages are not supported: a zero-length read is the peer's EOF.
 */
public final class SeqPacketSocket implements Closeable {
    /** poll(2) is not interruptible from Java: wait in slices this long and look at the interrupt flag between. */
    private static final int POLL_SLICE_MILLIS = 100;

    private final Descriptor fd;

    private SeqPacketSocket(int fd) {
        this.fd = new Descriptor(fd);
    }

    /** Both ends of a socketpair; closing the pair closes both. */
    public record Pair(SeqPacketSocket first, SeqPacketSocket second) implements Closeable {
        @Override
        public void close() {
            first.close();
            second.close();
        }
    }

    /** A connected pair, both ends close-on-exec (hand one to a child explicitly, e.g. with posix_spawn's dup2). */
    public static Pair pair() throws NativeException {
        int[] fds = new int[2];
        if (LibC.INSTANCE.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, fds) != 0) {
            throw NativeException.lastError("socketpair");
        }
        return new Pair(new SeqPacketSocket(fds[0]), new SeqPacketSocket(fds[1]));
    }

    /** Sends one message (blocks while the socket buffer is full). */
    public void send(byte[] message) throws IOException {
        int socket = fd.open();
        while (true) {
            long sent = LibC.INSTANCE.send(socket, message, message.length, LibC.MSG_NOSIGNAL);
            if (sent == message.length) {
                return;
            }
            if (sent < 0) {
                NativeException error = NativeException.lastError("send");
                if (error.errno() == LibC.EINTR) {
                    continue;
                }
                throw error;
            }
            throw new IOException("send: " + sent + " of " + message.length + " bytes sent on a SOCK_SEQPACKET socket");
        }
    }

    /**
     * Receives one whole message, sized with MSG_PEEK|MSG_TRUNC first.
     *
     * @throws SocketTimeoutException nothing arrived within {@code timeout}
     * @throws EOFException the peer closed its end
     * @throws InterruptedIOException the thread was interrupted while waiting (the flag stays set)
     */
    public byte[] receive(Duration timeout) throws IOException {
        int socket = fd.open();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException("interrupted while waiting for a message");
            }
            long leftMillis = Math.max(0, (deadline - System.nanoTime() + 999_999) / 1_000_000);
            LibC.PollFd[] pollFds = (LibC.PollFd[]) new LibC.PollFd().toArray(1);
            pollFds[0].fd = socket;
            pollFds[0].events = LibC.POLLIN;
            int ready = LibC.INSTANCE.poll(pollFds, 1, (int) Math.min(leftMillis, POLL_SLICE_MILLIS));
            if (ready < 0) {
                NativeException error = NativeException.lastError("poll");
                if (error.errno() != LibC.EINTR) {
                    throw error;
                }
            } else if (ready > 0) {
                if ((pollFds[0].revents & LibC.POLLNVAL) != 0) {
                    throw new IOException("poll: descriptor " + socket + " is not open");
                }
                byte[] message = receiveReady(socket);
                if (message != null) {
                    return message;
                }
            } else if (leftMillis == 0) {
                throw new SocketTimeoutException("no message within " + timeout.toMillis() + " ms");
            }
        }
    }

    /** The pending message, or null if it went away (EAGAIN/EINTR) before we read it. */
    private static byte[] receiveReady(int socket) throws IOException {
        long size = LibC.INSTANCE.recv(socket, null, 0, LibC.MSG_PEEK | LibC.MSG_TRUNC | LibC.MSG_DONTWAIT);
        if (size < 0) {
            return retryable(NativeException.lastError("recv(MSG_PEEK|MSG_TRUNC)"));
        }
        if (size == 0) {
            throw new EOFException("the peer closed the socket");
        }
        byte[] message = new byte[Math.toIntExact(size)];
        long received = LibC.INSTANCE.recv(socket, message, message.length, LibC.MSG_DONTWAIT);
        if (received < 0) {
            return retryable(NativeException.lastError("recv"));
        }
        if (received != size) {
            throw new IOException("recv: " + received + " bytes received, the message had " + size);
        }
        return message;
    }

    private static byte[] retryable(NativeException error) throws NativeException {
        if (error.errno() == LibC.EINTR || error.errno() == LibC.EAGAIN) {
            return null;
        }
        throw error;
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
