package dev.criumigration.agent.criu;

import dev.criumigration.agent.criu.rpc.CriuReqType;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** CRIU did not answer a request within its deadline; CRIU has been killed. */
public final class CriuTimeoutException extends CriuOperationException {
    private final CriuReqType requestType;
    private final Duration timeout;

    public CriuTimeoutException(CriuReqType requestType, Duration timeout, List<String> logExcerpt, Path logFile) {
        super("CRIU " + requestType + " did not finish within " + timeout.toMillis() + " ms; CRIU was killed",
                logExcerpt, logFile);
        this.requestType = requestType;
        this.timeout = timeout;
    }

    public CriuReqType requestType() {
        return requestType;
    }

    public Duration timeout() {
        return timeout;
    }
}
