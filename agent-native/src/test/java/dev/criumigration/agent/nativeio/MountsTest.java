package dev.criumigration.agent.nativeio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.criumigration.agent.testing.TestGate;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MountsTest {
    private static final long SIZE = 8L << 20;

    @TempDir
    Path tempDir;
    Path mountPoint;

    @BeforeEach
    void createMountPoint() throws IOException {
        TestGate.requireRoot();
        mountPoint = Files.createDirectory(tempDir.resolve("images"));
    }

    @AfterEach
    void leaveNothingMounted() throws IOException {
        while (mountPoint != null && Mounts.isTmpfsMountPoint(mountPoint)) {
            Mounts.unmount(mountPoint);
        }
    }

    @Test
    void mountsASizedPrivateTmpfsAndUnmountsIt() throws IOException {
        assertFalse(Mounts.isTmpfsMountPoint(mountPoint));
        Mounts.mountTmpfs(mountPoint, SIZE);

        assertTrue(Mounts.isTmpfsMountPoint(mountPoint));
        assertFalse(Mounts.isTmpfsMountPoint(tempDir), "the parent is not the mount point");
        FsStats stats = Mounts.statfs(mountPoint);
        assertTrue(stats.isTmpfs());
        assertEquals(SIZE, stats.totalBytes());
        assertEquals(SIZE, stats.freeBytes());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(mountPoint)));
        String target = mountPoint.toRealPath().toString();
        String mountLine = Files.readAllLines(Path.of("/proc/self/mounts")).stream()
                .filter(line -> line.split(" ")[1].equals(target)).findFirst().orElseThrow();
        assertTrue(mountLine.startsWith(Mounts.TMPFS_SOURCE + " "), mountLine);
        assertTrue(mountLine.contains("nosuid") && mountLine.contains("nodev"), mountLine);

        Files.write(mountPoint.resolve("pages.img"), new byte[1 << 20]);
        assertEquals(SIZE - (1 << 20), Mounts.statfs(mountPoint).freeBytes());

        Mounts.unmount(mountPoint);
        assertFalse(Mounts.isTmpfsMountPoint(mountPoint));
        assertFalse(Files.exists(mountPoint.resolve("pages.img")), "the files lived in the tmpfs only");
    }

    @Test
    void aBusyMountIsDetached() throws IOException {
        Mounts.mountTmpfs(mountPoint, SIZE);
        Path file = Files.write(mountPoint.resolve("open.img"), new byte[] {1});
        try (InputStream busy = Files.newInputStream(file)) {
            Mounts.unmount(mountPoint);
            assertFalse(Mounts.isTmpfsMountPoint(mountPoint));
            assertEquals(1, busy.read(), "the detached file system stays readable while in use");
        }
    }

    @Test
    void unmountingWhatIsNotAMountPointIsANativeException() {
        NativeException error = assertThrows(NativeException.class, () -> Mounts.unmount(mountPoint));
        assertEquals(LibC.EINVAL, error.errno());
    }

    @Test
    void aMissingDirectoryIsNoMountPoint() throws IOException {
        assertFalse(Mounts.isTmpfsMountPoint(tempDir.resolve("missing")));
    }

    @Test
    void statfsOfAnOrdinaryDirectory() throws IOException {
        FsStats stats = Mounts.statfs(tempDir);
        assertTrue(stats.totalBytes() > 0 && stats.freeBytes() <= stats.totalBytes(), stats.toString());
    }
}
