package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.criumigration.agent.protocol.CheckResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostCheckCacheTest {
  @TempDir Path dir;

  private static final CheckResult ANSWERS = CheckResult.newBuilder().setCriuVersion("4.2.1")
      .setCriuCheckPassed(true).setMemTrack(true).setCpuinfo(ByteString.copyFromUtf8("cpuinfo of here")).build();

  @Test
  void answersKeptUnderOneKeyAreForgottenUnderAnother() throws Exception {
    Path file = dir.resolve("cache/host-check.json");
    new HostCheckCache(file, "key-1").keepCriuAnswers(ANSWERS);
    new HostCheckCache(file, "key-1").keepCompatible(ByteString.copyFromUtf8("cpuinfo of there"));

    HostCheckCache same = new HostCheckCache(file, "key-1");
    assertEquals(ANSWERS, same.criuAnswers().orElseThrow());
    assertTrue(same.compatibleBefore(ByteString.copyFromUtf8("cpuinfo of there")));
    assertFalse(same.compatibleBefore(ByteString.copyFromUtf8("cpuinfo of elsewhere")));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));

    HostCheckCache changed = new HostCheckCache(file, "key-2");
    assertTrue(changed.criuAnswers().isEmpty());
    assertFalse(changed.compatibleBefore(ByteString.copyFromUtf8("cpuinfo of there")));
    changed.keepCompatible(ByteString.copyFromUtf8("cpuinfo of elsewhere"));
    assertTrue(same.criuAnswers().isEmpty(), "a new key replaces every older answer");
  }

  @Test
  void aDamagedOrMissingFileIsAMiss() throws Exception {
    Path file = dir.resolve("host-check.json");
    assertTrue(new HostCheckCache(file, "key").criuAnswers().isEmpty());
    Files.writeString(file, "{ not json");
    assertTrue(new HostCheckCache(file, "key").criuAnswers().isEmpty());
    new HostCheckCache(file, "key").keepCriuAnswers(ANSWERS);
    assertEquals(ANSWERS, new HostCheckCache(file, "key").criuAnswers().orElseThrow());
  }

  @Test
  void theKeyFollowsTheBinariesAndTheKernel() throws Exception {
    Path criu = Files.writeString(dir.resolve("criu"), "binary");
    Path jar = Files.writeString(dir.resolve("agent.jar"), "jar");
    String key = HostCheckCache.keyOf(criu, jar);
    assertEquals(key, HostCheckCache.keyOf(criu, jar));
    Files.setLastModifiedTime(criu, FileTime.fromMillis(Files.getLastModifiedTime(criu).toMillis() - 60_000));
    String criuTouched = HostCheckCache.keyOf(criu, jar);
    assertNotEquals(key, criuTouched, "another CRIU binary");
    Files.writeString(jar, "another build");
    assertNotEquals(criuTouched, HostCheckCache.keyOf(criu, jar), "another agent build");
  }
}
