package dev.criumigration.migration.phases;

import dev.criumigration.migration.hosts.HostSession;
import dev.criumigration.migration.remote.RemoteAgent;
import dev.criumigration.migration.ssh.HostAddress;

/**
 * What one engine call has done on the hosts so far, written by its phases as they go and read by the
 * {@link Rollback} when it fails. The dump's completion (an agent's reader thread) reads
 * {@link #commitSent()} and {@link #rollingBack()} under this object's lock, which is how the rollback
 * owns the destination's calls from its start.
 */
public final class RollbackLedger {
    /** How the source waits while the destination restores. */
    public enum SourceHold {
        /** Held by the dump in flight (leave-stopped): a dump that fails is resumed by CRIU or its agent. */
        DUMP_IN_FLIGHT,
        /** Frozen at CRIU's post-dump notification: commit kills it, anything else resumes it. */
        COMMIT_POINT,
        /** Left stopped by a leave-stopped dump: resume or kill it. */
        LEFT_STOPPED
    }

    final HostAddress source;
    final HostAddress destination;
    final int pid;
    HostSession src;
    HostSession dst;
    /** The destination's images directory: a page server's, or what a restore reads. */
    String pagesDir;
    /** A page server runs (or ran) in {@link #pagesDir} on an agent of this call. */
    RemoteAgent pageServerAgent;
    RemoteAgent.Call pageServerCall;
    /** A page server started by an earlier step runs detached in {@link #pagesDir}: stop it on failure. */
    boolean detachedPageServer;
    String dumpDir;
    boolean dumpStarted;
    SourceHold hold = SourceHold.DUMP_IN_FLIGHT;
    /** The commit-point dump reported the tree frozen and waits for its decision. */
    boolean frozen;
    RemoteAgent dumpAgent;
    RemoteAgent.Call dumpCall;
    int restoredPid;
    private boolean commitSent;
    private boolean rollingBack;
    boolean sourceKilled;

    public RollbackLedger(HostAddress source, HostAddress destination, int pid) {
        this.source = source;
        this.destination = destination;
        this.pid = pid;
    }

    public void sessions(HostSession source, HostSession destination) {
        this.src = source;
        this.dst = destination;
    }

    public HostSession src() {
        return src;
    }

    public HostSession dst() {
        return dst;
    }

    /** The destination directory the rollback removes. */
    public void destinationDir(String dir) {
        this.pagesDir = dir;
    }

    /** The source directory the rollback removes once a dump started there. */
    public void dumpDir(String dir) {
        this.dumpDir = dir;
    }

    /** A page server of an earlier step waits in the destination directory. */
    public void detachedPageServer() {
        this.detachedPageServer = true;
    }

    /** The dump may have frozen the source: from now on the rollback brings it back. */
    public void dumpStarted(SourceHold expected) {
        this.dumpStarted = true;
        this.hold = expected;
    }

    /**
     * The agent refused the dump before it ran (another migration holds the process): this migration
     * froze nothing, and the rollback must not touch the source another one may hold frozen.
     */
    public void dumpRefused() {
        this.dumpStarted = false;
    }

    /** The commit-point dump waits at the commit point. */
    public void frozenAtCommitPoint(RemoteAgent agent, RemoteAgent.Call call) {
        this.dumpAgent = agent;
        this.dumpCall = call;
        this.frozen = true;
    }

    /** The dump's call, started (set before it may freeze anything). */
    public void dumpCall(RemoteAgent agent, RemoteAgent.Call call) {
        this.dumpAgent = agent;
        this.dumpCall = call;
    }

    /** The attached page server's call. */
    public void pageServerCall(RemoteAgent agent, RemoteAgent.Call call) {
        this.pageServerAgent = agent;
        this.pageServerCall = call;
    }

    public void restored(int restoredPid) {
        this.restoredPid = restoredPid;
    }

    public int restoredPid() {
        return restoredPid;
    }

    /** The commit goes out now: from here on its outcome may be unknown, never simply undone. */
    public synchronized void sendingCommit() {
        commitSent = true;
    }

    public synchronized boolean commitSent() {
        return commitSent;
    }

    public void sourceKilled() {
        sourceKilled = true;
    }

    synchronized void beginRollback() {
        rollingBack = true;
    }

    synchronized boolean rollingBack() {
        return rollingBack;
    }
}
