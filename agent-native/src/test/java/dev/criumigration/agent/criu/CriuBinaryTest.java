package dev.criumigration.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CriuBinaryTest {
    @TempDir
    Path dir;

    private Path executable(String name) throws IOException {
        Path file = Files.createDirectories(dir.resolve(name).getParent()).resolve(dir.resolve(name).getFileName());
        Files.writeString(file, "#!/bin/sh\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }

    @Test
    void criuBinaryFromTheEnvironmentComesFirst() throws IOException {
        Path configured = executable("custom/criu-4.2");
        executable("bin/criu");
        CriuBinary criu = CriuBinary.locate(Map.of("CRIU_BINARY", configured.toString(), "PATH", dir.resolve("bin").toString()), List.of());
        assertEquals(configured, criu.path());
    }

    @Test
    void aCriuBinaryThatIsNoExecutableIsAClearError() {
        CriuUnavailableException error = assertThrows(CriuUnavailableException.class,
                () -> CriuBinary.locate(Map.of("CRIU_BINARY", dir.resolve("nothing").toString()), List.of()));
        assertTrue(error.getMessage().contains("CRIU_BINARY=" + dir.resolve("nothing") + " is not an executable file"), error.getMessage());
    }

    @Test
    void thenThePath() throws IOException {
        Path inPath = executable("bin/criu");
        Files.createDirectories(dir.resolve("empty"));
        assertEquals(inPath, CriuBinary.locate(Map.of("PATH", dir.resolve("empty") + ":" + dir.resolve("bin")), List.of()).path());
    }

    @Test
    void thenTheFixedPlaces() throws IOException {
        Path fixed = executable("sbin/criu");
        assertEquals(fixed, CriuBinary.locate(Map.of("PATH", dir.resolve("bin").toString()), List.of(dir.resolve("nowhere/criu"), fixed)).path());
    }

    @Test
    void withoutAnyTheMessageSaysHowToInstall() {
        CriuUnavailableException error = assertThrows(CriuUnavailableException.class,
                () -> CriuBinary.locate(Map.of("PATH", dir.toString()), List.of(dir.resolve("sbin/criu"))));
        assertTrue(error.getMessage().startsWith("CRIU not found; install it with src/install/install-host.sh"), error.getMessage());
    }
}
