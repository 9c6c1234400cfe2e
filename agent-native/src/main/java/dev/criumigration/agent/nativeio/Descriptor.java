package dev.criumigration.agent.nativeio;

import java.io.Closeable;
import java.io.IOException;

/** One file descriptor of ours and its one owner: closed once, and never used after that. */
final class Descriptor implements Closeable {
    private final Object lock = new Object();
    private int fd;

    Descriptor(int fd) {
        this.fd = fd;
    }

    /** The number, -1 once closed. */
    int fd() {
        synchronized (lock) {
            return fd;
        }
    }

    /** The number, for a call that needs it open. */
    int open() throws IOException {
        int open = fd();
        if (open < 0) {
            throw new IOException("the socket is closed");
        }
        return open;
    }

    /** Closes the fd; later calls do nothing. */
    @Override
    public void close() {
        synchronized (lock) {
            if (fd >= 0) {
                // Linux releases the descriptor even when close(2) reports an error: nothing to retry.
                LibC.INSTANCE.close(fd);
                fd = -1;
            }
        }
    }
}
