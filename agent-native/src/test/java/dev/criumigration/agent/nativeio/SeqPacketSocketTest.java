package dev.criumigration.agent.nativeio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SeqPacketSocketTest {
    private static final Duration SHORT = Duration.ofSeconds(5);

    @Test
    void messagesOfEverySizeArriveWholeAndInOrder() throws IOException {
        // 65537 and 150000 are past any fixed 64 KiB buffer: only MSG_PEEK|MSG_TRUNC sizing reads them whole.
        int[] sizes = {1, 100, 4096, 65536, 65537, 150_000};
        try (SeqPacketSocket.Pair pair = SeqPacketSocket.pair()) {
            Random random = new Random(42);
            for (int size : sizes) {
                byte[] message = new byte[size];
                random.nextBytes(message);
                pair.first().send(message);
                assertArrayEquals(message, pair.second().receive(SHORT), "message of " + size + " bytes");
            }
            byte[] one = {1};
            byte[] two = {2, 2};
            pair.second().send(one);
            pair.second().send(two);
            assertArrayEquals(one, pair.first().receive(SHORT));
            assertArrayEquals(two, pair.first().receive(SHORT));
        }
    }

    @Test
    void receiveTimesOutWhenNothingArrives() throws IOException {
        try (SeqPacketSocket.Pair pair = SeqPacketSocket.pair()) {
            long started = System.nanoTime();
            assertThrows(SocketTimeoutException.class, () -> pair.first().receive(Duration.ofMillis(300)));
            long waitedMillis = (System.nanoTime() - started) / 1_000_000;
            assertTrue(waitedMillis >= 290 && waitedMillis < 3000, "waited " + waitedMillis + " ms");
        }
    }

    @Test
    void receiveReportsEofOnceThePeerClosedAndPendingMessagesAreRead() throws IOException {
        try (SeqPacketSocket.Pair pair = SeqPacketSocket.pair()) {
            pair.second().send(new byte[] {7});
            pair.second().close();
            assertArrayEquals(new byte[] {7}, pair.first().receive(SHORT));
            assertThrows(EOFException.class, () -> pair.first().receive(SHORT));
        }
    }

    @Test
    void aWaitingReceiveStopsWhenTheThreadIsInterrupted() throws Exception {
        try (SeqPacketSocket.Pair pair = SeqPacketSocket.pair()) {
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread receiver = new Thread(() -> {
                try {
                    pair.first().receive(Duration.ofMinutes(1));
                } catch (Throwable e) {
                    outcome.set(e);
                }
            });
            receiver.start();
            Thread.sleep(200);
            receiver.interrupt();
            receiver.join(5000);
            assertTrue(outcome.get() instanceof InterruptedIOException, "got " + outcome.get());
        }
    }

    @Test
    void closeIsIdempotentAndBothEndsAreCloseOnExec() throws IOException {
        SeqPacketSocket.Pair pair = SeqPacketSocket.pair();
        assertEquals(LibC.FD_CLOEXEC, LibC.INSTANCE.fcntl(pair.first().fd(), LibC.F_GETFD, 0) & LibC.FD_CLOEXEC);
        assertEquals(LibC.FD_CLOEXEC, LibC.INSTANCE.fcntl(pair.second().fd(), LibC.F_GETFD, 0) & LibC.FD_CLOEXEC);
        pair.close();
        pair.close();
        assertEquals(-1, pair.first().fd());
        assertThrows(IOException.class, () -> pair.first().send(new byte[] {1}));
    }

    @Test
    void sendToAClosedPeerFailsWithEpipe() throws IOException {
        try (SeqPacketSocket.Pair pair = SeqPacketSocket.pair()) {
            pair.second().close();
            NativeException error = assertThrows(NativeException.class, () -> pair.first().send(new byte[] {1}));
            assertEquals(LibC.EPIPE, error.errno());
        }
    }
}
