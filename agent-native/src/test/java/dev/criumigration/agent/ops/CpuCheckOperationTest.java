package dev.criumigration.agent.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.criumigration.agent.protocol.CheckRequest;
import dev.criumigration.agent.protocol.CpuCheckRequest;
import dev.criumigration.agent.protocol.CpuCheckResult;
import dev.criumigration.agent.protocol.ErrorKind;
import dev.criumigration.agent.testing.RequiresRootAndCriu;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** CRIU's CPUINFO_CHECK through the agent: this host's own CPU, and one with features no CPU has. */
@RequiresRootAndCriu
class CpuCheckOperationTest {
  /** cpuinfo_entry.x86_entry and cpuinfo_x86_entry.xfeatures_mask of CRIU's images/cpuinfo.proto. */
  private static final int X86_ENTRY = 1;
  private static final int XFEATURES_MASK = 8;
  /** An image: two magics, then each entry as a little-endian u32 size and its protobuf bytes. */
  private static final int HEADER = 8;

  private static CpuCheckResult check(ByteString cpuinfo) throws Exception {
    return Harness.run(new CpuCheckOperation(CpuCheckRequest.newBuilder().setCpuinfo(cpuinfo).build()));
  }

  @Test
  void thisHostsCpuIsCompatibleAndOneWithImpossibleFeaturesIsNot() throws Exception {
    List<Path> scratchBefore = scratchDirs();
    ByteString own = Harness.run(new HostCheckOperation(CheckRequest.getDefaultInstance())).getCpuinfo();
    assertFalse(own.isEmpty(), "the check made a cpuinfo image");

    assertEquals(CpuCheckResult.newBuilder().setCompatible(true).build(), check(own));

    CpuCheckResult impossible = check(withAllXfeatures(own));
    assertFalse(impossible.getCompatible());
    assertTrue(impossible.getDetail().contains("xfeatures has unsupported bits"), impossible.getDetail());
    assertEquals(scratchBefore, scratchDirs(), "the scratch directories are removed");
  }

  @Test
  void anEmptyCpuinfoIsBadInput() {
    AgentException refused = assertThrows(AgentException.class, () -> check(ByteString.EMPTY));
    assertEquals(ErrorKind.USAGE, refused.kind());
  }

  /** The image with every xsave feature bit set: CRIU refuses features this CPU does not have. */
  private static ByteString withAllXfeatures(ByteString image) throws IOException {
    ByteBuffer in = image.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    int size = in.getInt(HEADER);
    UnknownFieldSet entry = UnknownFieldSet.parseFrom(image.substring(HEADER + 4, HEADER + 4 + size));
    UnknownFieldSet x86 = UnknownFieldSet.parseFrom(entry.getField(X86_ENTRY).getLengthDelimitedList().get(0));
    assertTrue(x86.hasField(XFEATURES_MASK), "an x86 cpuinfo image: " + x86);
    UnknownFieldSet changed = x86.toBuilder().clearField(XFEATURES_MASK).addField(XFEATURES_MASK,
        UnknownFieldSet.Field.newBuilder().addVarint(0xffff_ffff_ffffL).build()).build();
    ByteString newEntry = entry.toBuilder().clearField(X86_ENTRY).addField(X86_ENTRY,
        UnknownFieldSet.Field.newBuilder().addLengthDelimited(changed.toByteString()).build()).build().toByteString();
    ByteBuffer out = ByteBuffer.allocate(HEADER + 4 + newEntry.size()).order(ByteOrder.LITTLE_ENDIAN);
    out.put(image.substring(0, HEADER).toByteArray()).putInt(newEntry.size()).put(newEntry.toByteArray());
    return ByteString.copyFrom(out.array());
  }

  private static List<Path> scratchDirs() throws IOException {
    try (Stream<Path> entries = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return entries.filter(p -> p.getFileName().toString().startsWith("criu-agent-cpu-check")).sorted().toList();
    }
  }
}
