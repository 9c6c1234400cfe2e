package dev.criumigration.migration.hosts;

import com.google.protobuf.ByteString;
import dev.criumigration.agent.protocol.AgentInfoRequest;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CheckRequest;
import dev.criumigration.agent.protocol.CleanupRequest;
import dev.criumigration.agent.protocol.CpuCheckRequest;
import dev.criumigration.agent.protocol.FetchImagesRequest;
import dev.criumigration.agent.protocol.HostFactsRequest;
import dev.criumigration.agent.protocol.ImageFile;
import dev.criumigration.agent.protocol.KillRestoredRequest;
import dev.criumigration.agent.protocol.PageServerStatusRequest;
import dev.criumigration.agent.protocol.ProcessStateRequest;
import dev.criumigration.agent.protocol.ProcessTreeRequest;
import dev.criumigration.agent.protocol.PutImagesRequest;
import dev.criumigration.agent.protocol.RestoreRequest;
import dev.criumigration.agent.protocol.SourceRequest;

import java.util.Collection;
import java.util.List;

/** The agent requests the engine sends, built in one place. */
public final class AgentRequests {
    private AgentRequests() {}

    /** Which agent answers: its build, images base and load (the first request to a daemon). */
    public static AgentRequest.Builder agentInfo() {
        return AgentRequest.newBuilder().setAgentInfo(AgentInfoRequest.getDefaultInstance());
    }

    /** The host check; without {@code recheck} the agent may answer CRIU's part from its cache. */
    public static AgentRequest.Builder check(boolean recheck) {
        return AgentRequest.newBuilder().setCheck(CheckRequest.newBuilder().setRecheck(recheck));
    }

    public static AgentRequest.Builder processTree(int pid) {
        return AgentRequest.newBuilder().setProcessTree(ProcessTreeRequest.newBuilder().setPid(pid));
    }

    /** Which of {@code pids} exist, the ports in use, and (peer not null) the address toward the peer. */
    public static AgentRequest.Builder hostFacts(Collection<Integer> pids, String peer) {
        HostFactsRequest.Builder facts = HostFactsRequest.newBuilder().addAllPids(pids);
        if (peer != null) {
            facts.setPeer(peer);
        }
        return AgentRequest.newBuilder().setHostFacts(facts);
    }

    public static AgentRequest.Builder processState(int pid, ProcessStateRequest.Wait wait) {
        return AgentRequest.newBuilder().setProcessState(ProcessStateRequest.newBuilder().setPid(pid).setWait(wait));
    }

    public static AgentRequest.Builder cpuCheck(ByteString sourceCpuinfo, boolean recheck) {
        return AgentRequest.newBuilder().setCpuCheck(CpuCheckRequest.newBuilder().setCpuinfo(sourceCpuinfo)
                .setRecheck(recheck));
    }

    public static AgentRequest.Builder pageServerStatus(String imagesDir, boolean withDumpTls) {
        return AgentRequest.newBuilder().setPageServerStatus(PageServerStatusRequest.newBuilder()
                .setImagesDir(imagesDir).setWithDumpTls(withDumpTls));
    }

    public static AgentRequest.Builder fetchImages(String imagesDir) {
        return AgentRequest.newBuilder().setFetchImages(FetchImagesRequest.newBuilder().setImagesDir(imagesDir));
    }

    public static AgentRequest.Builder putImages(String imagesDir, List<ImageFile> files) {
        return AgentRequest.newBuilder().setPutImages(PutImagesRequest.newBuilder().setImagesDir(imagesDir)
                .addAllFiles(files));
    }

    public static AgentRequest.Builder restore(String imagesDir, boolean tcpEstablished, boolean shellJob,
                                               boolean requirePageServerOk) {
        return AgentRequest.newBuilder().setRestore(RestoreRequest.newBuilder().setImagesDir(imagesDir)
                .setTcpEstablished(tcpEstablished).setShellJob(shellJob).setRequirePageServerOk(requirePageServerOk));
    }

    /** Kills the tree restored from {@code imagesDir}, only if {@code pid} is its root. */
    public static AgentRequest.Builder killRestored(String imagesDir, int pid) {
        return AgentRequest.newBuilder().setKillRestored(KillRestoredRequest.newBuilder().setImagesDir(imagesDir)
                .setPid(pid));
    }

    public static AgentRequest.Builder resume(int pid) {
        return AgentRequest.newBuilder().setResume(SourceRequest.newBuilder().setPid(pid));
    }

    public static AgentRequest.Builder kill(int pid) {
        return AgentRequest.newBuilder().setKill(SourceRequest.newBuilder().setPid(pid));
    }

    public static AgentRequest.Builder cleanup(String imagesDir, boolean killRestored, boolean onlyIfRestoredRuns) {
        return AgentRequest.newBuilder().setCleanup(CleanupRequest.newBuilder().setImagesDir(imagesDir)
                .setKillRestored(killRestored).setOnlyIfRestoredRuns(onlyIfRestoredRuns));
    }
}
