package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.criu.rpc.CriuVersion;
import org.junit.jupiter.api.Test;

class HostCheckOperationTest {
  private static CriuVersion version(int major, int minor, int sublevel) {
    return CriuVersion.newBuilder().setMajorNumber(major).setMinorNumber(minor).setSublevel(sublevel).build();
  }

  @Test
  void criuOlderThan42IsAProblemThatSaysWhatToDo() {
    String problem = HostCheckOperation.versionProblem(version(4, 1, 1)).orElseThrow();
    assertTrue(problem.contains("4.1.1 is too old"), problem);
    assertTrue(problem.contains("install-host.sh"), problem);
    assertTrue(HostCheckOperation.versionProblem(version(3, 17, 1)).isPresent());
  }

  @Test
  void criu42AndNewerWillDo() {
    assertFalse(HostCheckOperation.versionProblem(version(4, 2, 1)).isPresent());
    assertFalse(HostCheckOperation.versionProblem(version(4, 3, 0)).isPresent());
    assertFalse(HostCheckOperation.versionProblem(version(5, 0, 0)).isPresent());
  }
}
