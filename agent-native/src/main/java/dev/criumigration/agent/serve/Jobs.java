package dev.criumigration.agent.serve;

import com.google.protobuf.Message;
import dev.criumigration.agent.ops.AgentException;
import dev.criumigration.agent.ops.CleanupOperation;
import dev.criumigration.agent.ops.CpuCheckOperation;
import dev.criumigration.agent.ops.DumpOperation;
import dev.criumigration.agent.ops.FetchImagesOperation;
import dev.criumigration.agent.ops.HostCheckOperation;
import dev.criumigration.agent.ops.HostFactsOperation;
import dev.criumigration.agent.ops.ImagesOperation;
import dev.criumigration.agent.ops.KillRestoredOperation;
import dev.criumigration.agent.ops.Operation;
import dev.criumigration.agent.ops.PageServerOperation;
import dev.criumigration.agent.ops.PageServerStatusOperation;
import dev.criumigration.agent.ops.ProcessStateOperation;
import dev.criumigration.agent.ops.ProcessTreeOperation;
import dev.criumigration.agent.ops.PutImagesOperation;
import dev.criumigration.agent.ops.RestoreOperation;
import dev.criumigration.agent.ops.SourceOperation;
import dev.criumigration.agent.protocol.AgentRequest;
import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.agent.protocol.CleanupResult;
import dev.criumigration.agent.protocol.CpuCheckResult;
import dev.criumigration.agent.protocol.DumpResult;
import dev.criumigration.agent.protocol.FetchImagesResult;
import dev.criumigration.agent.protocol.HostFacts;
import dev.criumigration.agent.protocol.ImagesResult;
import dev.criumigration.agent.protocol.KillRestoredResult;
import dev.criumigration.agent.protocol.PageServerResult;
import dev.criumigration.agent.protocol.PageServerStatus;
import dev.criumigration.agent.protocol.ProcessState;
import dev.criumigration.agent.protocol.ProcessTree;
import dev.criumigration.agent.protocol.PutImagesResult;
import dev.criumigration.agent.protocol.RestoreResult;
import dev.criumigration.agent.protocol.Result;
import dev.criumigration.agent.protocol.SourceResult;

/** The operation an AgentRequest asks for, and how its result goes into a Result event. */
final class Jobs {
  private Jobs() {}

  /** An operation's result as the Result event's field for it. */
  static Result wrap(Message result) {
    Result.Builder wrapped = Result.newBuilder();
    if (result instanceof CheckResult r) {
      wrapped.setCheck(r);
    } else if (result instanceof PageServerResult r) {
      wrapped.setPageServer(r);
    } else if (result instanceof DumpResult r) {
      wrapped.setDump(r);
    } else if (result instanceof RestoreResult r) {
      wrapped.setRestore(r);
    } else if (result instanceof SourceResult r) {
      wrapped.setSource(r);
    } else if (result instanceof ImagesResult r) {
      wrapped.setImages(r);
    } else if (result instanceof CleanupResult r) {
      wrapped.setCleanup(r);
    } else if (result instanceof FetchImagesResult r) {
      wrapped.setFetchImages(r);
    } else if (result instanceof PutImagesResult r) {
      wrapped.setPutImages(r);
    } else if (result instanceof PageServerStatus r) {
      wrapped.setPageServerStatus(r);
    } else if (result instanceof ProcessTree r) {
      wrapped.setProcessTree(r);
    } else if (result instanceof HostFacts r) {
      wrapped.setHostFacts(r);
    } else if (result instanceof ProcessState r) {
      wrapped.setProcessState(r);
    } else if (result instanceof CpuCheckResult r) {
      wrapped.setCpuCheck(r);
    } else if (result instanceof KillRestoredResult r) {
      wrapped.setKillRestored(r);
    } else {
      throw new IllegalArgumentException("no Result field for " + result.getClass().getName());
    }
    return wrapped.build();
  }

  /** The operation of a request (not a decision or a cancel, which the server handles itself). */
  static Operation<? extends Message> of(AgentRequest request) throws AgentException {
    return switch (request.getOperationCase()) {
      case CHECK -> new HostCheckOperation(request.getCheck());
      case PAGE_SERVER -> new PageServerOperation(request.getPageServer());
      case PAGE_SERVER_STATUS -> new PageServerStatusOperation(request.getPageServerStatus());
      case DUMP -> new DumpOperation(request.getDump());
      case RESTORE -> new RestoreOperation(request.getRestore());
      case RESUME -> new SourceOperation(SourceOperation.Action.RESUME, request.getResume());
      case KILL -> new SourceOperation(SourceOperation.Action.KILL, request.getKill());
      case IMAGES -> new ImagesOperation(request.getImages());
      case CLEANUP -> new CleanupOperation(request.getCleanup());
      case FETCH_IMAGES -> new FetchImagesOperation(request.getFetchImages());
      case PUT_IMAGES -> new PutImagesOperation(request.getPutImages());
      case PROCESS_TREE -> new ProcessTreeOperation(request.getProcessTree());
      case HOST_FACTS -> new HostFactsOperation(request.getHostFacts());
      case PROCESS_STATE -> new ProcessStateOperation(request.getProcessState());
      case CPU_CHECK -> new CpuCheckOperation(request.getCpuCheck());
      case KILL_RESTORED -> new KillRestoredOperation(request.getKillRestored());
      case DECISION, CANCEL, AGENT_INFO, OPERATION_NOT_SET -> throw AgentException.usage(
          "request " + request.getId() + " asks for no operation", "set one of AgentRequest's operation fields");
    };
  }
}
