package dev.criumigration.agent.criu;

import dev.criumigration.agent.criu.rpc.CriuReqType;
import dev.criumigration.agent.nativeio.WaitStatus;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

/** CRIU closed its socket (it exited or was killed) before answering a request. */
public final class CriuCrashedException extends CriuOperationException {
    private final CriuReqType requestType;
    private final OptionalInt waitStatus;

    public CriuCrashedException(CriuReqType requestType, OptionalInt waitStatus, List<String> logExcerpt, Path logFile) {
        super("CRIU ended during " + requestType + " without answering ("
                + (waitStatus.isPresent() ? WaitStatus.describe(waitStatus.getAsInt()) : "it did not exit yet") + ")",
                logExcerpt, logFile);
        this.requestType = requestType;
        this.waitStatus = waitStatus;
    }

    public CriuReqType requestType() {
        return requestType;
    }

    /** CRIU's raw wait status (see {@link WaitStatus}), empty if it had not exited when we looked. */
    public OptionalInt waitStatus() {
        return waitStatus;
    }
}
