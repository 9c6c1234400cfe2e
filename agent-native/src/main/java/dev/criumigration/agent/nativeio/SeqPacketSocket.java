package dev.criumigration.agent.nativeio;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;

/** One end of an AF_UNIX SOCK_SEQPACKET socket: whole messages in, whole messages out. Owns its fd. */
public final class SeqPacketSocket implements Closeable {

    /** Both ends of a socketpair; closing the pair closes both. */
    public record Pair(SeqPacketSocket first, SeqPacketSocket second) implements Closeable {
        @Override
        public void close() {
            first.close();
            second.close();
        }
    }

    // TODO(agent-core): not implemented yet; the signatures are stable.
    public static Pair pair() throws NativeException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Sends one message (blocks while the socket buffer is full). */
    public void send(byte[] message) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /**
     * Receives one whole message, sized with MSG_PEEK|MSG_TRUNC first.
     *
     * @throws java.net.SocketTimeoutException nothing arrived within {@code timeout}
     * @throws java.io.EOFException the peer closed its end
     * @throws java.io.InterruptedIOException the thread was interrupted while waiting
     */
    public byte[] receive(Duration timeout) throws IOException {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public int fd() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Closes the fd; later calls do nothing. */
    @Override
    public void close() {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
