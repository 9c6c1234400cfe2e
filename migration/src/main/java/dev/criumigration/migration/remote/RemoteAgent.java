package dev.criumigration.migration.remote;

import dev.criumigration.agent.protocol.AgentError;
import dev.criumigration.agent.protocol.AgentEvent;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CancelRequest;
import dev.criumigration.agent.protocol.Result;
import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import dev.criumigration.migration.deploy.AgentLaunch;
import dev.criumigration.migration.ssh.CommandResult;
import dev.criumigration.migration.ssh.RemoteHost;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The agent on a host, over one SSH channel: {@code criu-agent serve} started on an exec channel, or a
 * session with the host's warm {@code criu-agent daemon} over a channel to its Unix socket. Requests
 * are written length-delimited, events read on a reader thread and routed to the request they belong
 * to; several requests run at once. Every wait has a deadline. Closing the channel makes the agent
 * cancel what this controller runs (a source it froze is resumed): that is the safety net when the
 * controller goes away.
 */
public final class RemoteAgent implements AutoCloseable {
    /** How long past an operation's own deadline the controller waits for the agent to report it. */
    static final Duration GRACE = Duration.ofSeconds(15);
    private static final int STDERR_LINES_KEPT = 40;

    /** One request in flight: its events go to {@code sink}, its outcome completes {@code result}. */
    public static final class Call {
        private final long id;
        private final String operation;
        private final Duration timeout;
        private final Consumer<AgentEvent> sink;
        private final CompletableFuture<Result> result = new CompletableFuture<>();

        private Call(long id, String operation, Duration timeout, Consumer<AgentEvent> sink) {
            this.id = id;
            this.operation = operation;
            this.timeout = timeout;
            this.sink = sink;
        }

        public long id() {
            return id;
        }

        /** Completes with the Result, or exceptionally with a {@link MigrationException}. */
        public CompletableFuture<Result> result() {
            return result;
        }
    }

    private final RemoteHost host;
    private final ClientChannel channel;
    /** "the agent" or "the agent daemon", for messages. */
    private final String what;
    private final OutputStream toAgent;
    private final Consumer<String> log;
    private final Map<Long, Call> calls = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();
    private final Deque<String> stderrTail = new ArrayDeque<>();
    private final Thread eventReader;
    private final Thread stderrReader;
    private volatile MigrationException ended;

    private RemoteAgent(RemoteHost host, ClientChannel channel, String what, Consumer<String> log) {
        this.host = host;
        this.channel = channel;
        this.what = what;
        this.toAgent = channel.getInvertedIn();
        this.log = log;
        this.eventReader = new Thread(this::readEvents, "agent-events-" + host.address());
        this.stderrReader = new Thread(this::readStderr, "agent-stderr-" + host.address());
        eventReader.setDaemon(true);
        stderrReader.setDaemon(true);
    }

    /** Starts {@code java -jar JAR serve --images-base BASE} on the host (through sudo -n when configured). */
    public static RemoteAgent start(RemoteHost host, String jarPath, Consumer<String> log) throws MigrationException {
        ChannelExec channel = host.openExec(AgentLaunch.serve(host.settings(), jarPath), true);
        RemoteAgent agent = new RemoteAgent(host, channel, "the agent", log);
        agent.eventReader.start();
        agent.stderrReader.start();
        return agent;
    }

    /**
     * A session with the daemon listening on {@code socketPath}, or empty when the host has none (or
     * the login user may not reach it). Its log goes to the host's journal, not to this controller.
     */
    public static Optional<RemoteAgent> connectDaemon(RemoteHost host, String socketPath, Consumer<String> log)
            throws MigrationException {
        Optional<RemoteAgent> agent = host.openUnixSocket(socketPath)
                .map(channel -> new RemoteAgent(host, channel, "the agent daemon", log));
        agent.ifPresent(daemon -> daemon.eventReader.start());
        return agent;
    }

    public RemoteHost host() {
        return host;
    }

    public boolean isOpen() {
        return ended == null && channel.isOpen();
    }

    /** Sends a request; its events go to {@code sink} (may be null) until its Result or error. */
    public Call start(AgentRequest.Builder request, Duration timeout, Consumer<AgentEvent> sink)
            throws MigrationException {
        long id = ids.incrementAndGet();
        Call call = new Call(id, request.getOperationCase().name().toLowerCase(java.util.Locale.ROOT), timeout,
                sink == null ? event -> { } : sink);
        calls.put(id, call);
        MigrationException gone = ended;
        if (gone != null) {
            calls.remove(id);
            throw gone;
        }
        try {
            write(request.setId(id).setTimeoutMillis(timeout.toMillis()).build());
        } catch (MigrationException e) {
            calls.remove(id);
            throw e;
        }
        return call;
    }

    /** Sends a request whose answer nobody waits for (a commit decision, a cancel). */
    public void send(AgentRequest.Builder request) throws MigrationException {
        write(request.setId(ids.incrementAndGet()).build());
    }

    /** Sends and waits for the Result. */
    public Result call(AgentRequest.Builder request, Duration timeout, Consumer<AgentEvent> sink)
            throws MigrationException {
        Call call = start(request, timeout, sink);
        return await(call.result, call);
    }

    public Result await(Call call) throws MigrationException {
        return await(call.result, call);
    }

    /**
     * Waits for {@code future} (the call's result, or something its events complete) until the call's
     * deadline plus grace. On expiry the agent is asked to cancel the call.
     */
    public <T> T await(CompletableFuture<T> future, Call call) throws MigrationException {
        try {
            return future.get(call.timeout.plus(GRACE).toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            // Ask the agent to give up and give it the time to undo what it did (a restored tree, a
            // frozen source) before going on without it.
            cancelQuietly(call);
            try {
                future.get(GRACE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception outcome) {
                // It ended (cancelled) or still did not answer: either way this call timed out.
            }
            throw new MigrationException(null, Kind.TIMEOUT, "the " + call.operation + " on " + host.address()
                    + " did not finish within " + seconds(call.timeout), "raise the timeout if the workload is large");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof MigrationException failure) {
                throw failure;
            }
            throw new MigrationException(null, Kind.INTERNAL, "the " + call.operation + " on " + host.address()
                    + " failed: " + e.getCause(), "", false, List.of(), e.getCause());
        } catch (CancellationException e) {
            throw new MigrationException(null, Kind.CANCELLED, "the " + call.operation + " on " + host.address()
                    + " was cancelled", "");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            cancelQuietly(call);
            throw new MigrationException(null, Kind.CANCELLED, "waiting for the " + call.operation + " on "
                    + host.address() + " was interrupted", "");
        }
    }

    /** Asks the agent to cancel {@code call}; its outcome still arrives as an error event. */
    public void cancelQuietly(Call call) {
        try {
            send(AgentRequest.newBuilder().setCancel(CancelRequest.newBuilder().setRequestId(call.id)));
        } catch (MigrationException e) {
            log.accept(host.address() + ": could not send cancel: " + e.getMessage());
        }
    }

    /**
     * Asks the agent to cancel every call in flight. Their outcomes still arrive (the agent resumes a
     * source it froze, kills a tree it was restoring): waiting threads return with what really happened.
     */
    public void cancelCalls() {
        for (Call call : calls.values()) {
            cancelQuietly(call);
        }
    }

    private synchronized void write(AgentRequest request) throws MigrationException {
        MigrationException gone = ended;
        if (gone != null) {
            throw gone;
        }
        try {
            request.writeDelimitedTo(toAgent);
            toAgent.flush();
        } catch (IOException e) {
            throw new MigrationException(null, Kind.CONNECT, "sending to the agent on " + host.address() + " failed: "
                    + e.getMessage(), "", false, List.of(), e);
        }
    }

    private void readEvents() {
        try (InputStream in = channel.getInvertedOut()) {
            while (true) {
                AgentEvent event = AgentEvent.parseDelimitedFrom(in);
                if (event == null) {
                    break;
                }
                dispatch(event);
            }
            endWith(null);
        } catch (IOException | RuntimeException e) {
            endWith(e);
        }
    }

    private void dispatch(AgentEvent event) {
        Call call = calls.get(event.getRequestId());
        switch (event.getEventCase()) {
            case LOG -> log.accept(host.address() + ": " + event.getLog().getText());
            case RESULT -> {
                if (call != null) {
                    calls.remove(call.id);
                    call.result.complete(event.getResult());
                }
                return;
            }
            case ERROR -> {
                MigrationException failure = failure(event.getError(), call);
                if (call != null) {
                    calls.remove(call.id);
                    call.result.completeExceptionally(failure);
                } else {
                    log.accept(host.address() + ": agent error: " + failure.getMessage());
                }
                return;
            }
            default -> { }
        }
        if (call != null) {
            call.sink.accept(event);
        }
    }

    private MigrationException failure(AgentError error, Call call) {
        Kind kind = switch (error.getKind()) {
            case USAGE -> Kind.USAGE;
            case CRIU_UNAVAILABLE -> Kind.HOST_NOT_READY;
            case TIMEOUT -> Kind.TIMEOUT;
            case CANCELLED -> Kind.CANCELLED;
            case CRIU_FAILED -> Kind.CRIU_FAILED;
            case IO -> Kind.HOST_IO;
            case PAGE_SERVER_FAILED -> Kind.PAGE_SERVER_FAILED;
            case TLS_HANDSHAKE -> Kind.TLS_FAILED;
            case BUSY -> Kind.BUSY;
            default -> Kind.INTERNAL;
        };
        String what = call == null ? "agent" : call.operation;
        StringBuilder message = new StringBuilder(what).append(" on ").append(host.address()).append(": ")
                .append(error.getMessage());
        String criuMessage = error.getCriuErrmsg().strip().replaceAll("\\s*\\R\\s*", "; ");
        if (!criuMessage.isEmpty() && !error.getMessage().contains(criuMessage)) {
            message.append(" (CRIU: ").append(criuMessage).append(')');
        }
        return new MigrationException(null, kind, message.toString(), error.getHint(), error.getSourceResumed(),
                error.getCriuLogExcerptList(), null);
    }

    /** The agent's stream ended: every call in flight fails with why (exit status, stderr). */
    private void endWith(Exception cause) {
        channel.waitFor(EnumSet.of(ClientChannelEvent.EXIT_STATUS, ClientChannelEvent.CLOSED), Duration.ofSeconds(3));
        Integer status = channel.getExitStatus();
        String stderr = channel instanceof ChannelExec ? stderrText() : "";  // a daemon logs to its journal
        MigrationException reason;
        try {
            host.checkSudo(new CommandResult(status == null ? -1 : status, "", stderr));
            String how = status != null ? "exited with status " + status
                    : channel.getExitSignal() != null ? "was killed by SIG" + channel.getExitSignal()
                    : host.isOpen() ? "closed its channel" : "lost its SSH connection";
            reason = new MigrationException(null, host.isOpen() ? Kind.REMOTE : Kind.CONNECT, what + " on "
                    + host.address() + " " + how + (cause != null ? " (" + cause.getMessage() + ")" : "")
                    + (stderr.isBlank() ? "" : "; its last output: " + lastLines(stderr, 5)), "", false, List.of(), cause);
        } catch (MigrationException sudoRefused) {
            reason = sudoRefused;
        }
        ended = reason;
        for (Call call : new ArrayList<>(calls.values())) {
            call.result.completeExceptionally(reason);
        }
        calls.clear();
    }

    private void readStderr() {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(channel.getInvertedErr(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                synchronized (stderrTail) {
                    if (stderrTail.size() == STDERR_LINES_KEPT) {
                        stderrTail.removeFirst();
                    }
                    stderrTail.addLast(line);
                }
                log.accept(host.address() + " agent: " + line);
            }
        } catch (IOException e) {
            // The channel closed; the event reader reports why.
        }
    }

    private String stderrText() {
        try {
            stderrReader.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (stderrTail) {
            return String.join("\n", stderrTail);
        }
    }

    private static String lastLines(String text, int count) {
        String[] lines = text.strip().split("\\R");
        return String.join(" | ", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - count), lines.length));
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /**
     * Ends the session politely: closes the agent's stdin (it cancels anything still running and
     * exits) and waits up to {@code wait} for it to exit before dropping the channel.
     */
    public void close(Duration wait) {
        try {
            channel.getInvertedIn().close();
        } catch (IOException e) {
            // Already closed.
        }
        channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED, ClientChannelEvent.EXIT_STATUS), wait);
        channel.close(false);
    }

    @Override
    public void close() {
        close(Duration.ofSeconds(30));
    }

    /** Drops the channel at once: the agent sees its input end and cancels by itself. */
    public void abort() {
        channel.close(true);
    }
}
