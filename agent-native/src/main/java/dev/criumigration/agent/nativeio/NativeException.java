package dev.criumigration.agent.nativeio;

import com.sun.jna.Native;
import java.io.IOException;

/** A failed libc call: the call's name, its errno and the system's text for it. */
public final class NativeException extends IOException {
    private final String call;
    private final int errno;

    public NativeException(String call, int errno) {
        this(call, errno, null);
    }

    /** {@code detail} (an argument such as a path) is shown after the call name when not null. */
    public NativeException(String call, int errno, String detail) {
        super(call + (detail == null ? "" : "(" + detail + ")") + " failed: " + LibC.describe(errno) + " (errno " + errno + ")");
        this.call = call;
        this.errno = errno;
    }

    /** The errno of the last libc call on this thread, as an exception. */
    public static NativeException lastError(String call) {
        return new NativeException(call, Native.getLastError());
    }

    /** The errno of the last libc call on this thread, as an exception naming {@code detail}. */
    public static NativeException lastError(String call, String detail) {
        return new NativeException(call, Native.getLastError(), detail);
    }

    public String call() {
        return call;
    }

    public int errno() {
        return errno;
    }
}
