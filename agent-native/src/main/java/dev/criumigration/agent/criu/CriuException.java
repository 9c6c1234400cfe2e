package dev.criumigration.agent.criu;

import dev.criumigration.agent.criu.rpc.CriuReqType;
import java.nio.file.Path;
import java.util.List;

/** CRIU answered a request with success=false. */
public final class CriuException extends CriuOperationException {
    private final CriuReqType requestType;
    private final int crErrno;
    private final String crErrmsg;

    public CriuException(CriuReqType requestType, int crErrno, String crErrmsg, List<String> logExcerpt, Path logFile) {
        super(message(requestType, crErrno, crErrmsg), logExcerpt, logFile);
        this.requestType = requestType;
        this.crErrno = crErrno;
        this.crErrmsg = crErrmsg;
    }

    public CriuReqType requestType() {
        return requestType;
    }

    /** CRIU's cr_errno, 0 when it sent none. */
    public int crErrno() {
        return crErrno;
    }

    /** CRIU's cr_errmsg, empty when it sent none. */
    public String crErrmsg() {
        return crErrmsg;
    }

    private static String message(CriuReqType type, int crErrno, String crErrmsg) {
        StringBuilder text = new StringBuilder("CRIU ").append(type).append(" failed");
        if (!crErrmsg.isEmpty()) {
            text.append(": ").append(crErrmsg);
        }
        if (crErrno != 0) {
            text.append(" (errno ").append(crErrno).append(')');
        }
        return text.toString();
    }
}
