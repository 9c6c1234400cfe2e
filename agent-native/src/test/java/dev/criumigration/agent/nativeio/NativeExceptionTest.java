package dev.criumigration.agent.nativeio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class NativeExceptionTest {

    @Test
    void messageNamesTheCallTheErrnoAndItsText() {
        NativeException error = new NativeException("umount2", LibC.EINVAL, "/no/such/mount");
        assertEquals("umount2(/no/such/mount) failed: Invalid argument (errno 22)", error.getMessage());
        assertEquals("umount2", error.call());
        assertEquals(LibC.EINVAL, error.errno());
    }

    @Test
    void aFailedLibcCallBecomesANativeExceptionWithItsErrno() {
        NativeException error = assertThrows(NativeException.class, () -> Mounts.statfs(Path.of("/no/such/dir")));
        assertEquals(2, error.errno());
        assertEquals("statfs(/no/such/dir) failed: No such file or directory (errno 2)", error.getMessage());
    }
}
