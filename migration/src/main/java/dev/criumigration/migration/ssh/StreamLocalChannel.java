package dev.criumigration.migration.ssh;

import org.apache.sshd.client.channel.AsyncCapableClientChannel;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.SshException;
import org.apache.sshd.common.channel.LocalWindow;
import org.apache.sshd.common.util.buffer.Buffer;

import java.io.IOException;

/**
 * A stream to a Unix socket on the host, through the SSH connection: OpenSSH's
 * {@code direct-streamlocal@openssh.com} channel (its PROTOCOL file, section 2.4; allowed by sshd's
 * default {@code AllowStreamLocalForwarding yes}), which Mina SSHD's client does not offer itself.
 * The open request carries the socket path and two reserved fields.
 */
final class StreamLocalChannel extends AsyncCapableClientChannel {
    private final String socketPath;

    StreamLocalChannel(String socketPath) {
        super("direct-streamlocal@openssh.com", false);
        this.socketPath = socketPath;
    }

    @Override
    public synchronized OpenFuture open() throws IOException {
        if (closeFuture.isClosed()) {
            throw new SshException("Session has been closed");
        }
        openFuture = new DefaultOpenFuture(socketPath, futureLock);
        LocalWindow window = getLocalWindow();
        String type = getChannelType();
        Buffer buffer = getSession().createBuffer(SshConstants.SSH_MSG_CHANNEL_OPEN,
                type.length() + socketPath.length() + 32);
        buffer.putString(type);
        buffer.putUInt(getChannelId());
        buffer.putUInt(window.getSize());
        buffer.putUInt(window.getPacketSize());
        buffer.putString(socketPath);
        buffer.putString("");  // reserved
        buffer.putUInt(0);     // reserved
        writePacket(buffer);
        return openFuture;
    }
}
