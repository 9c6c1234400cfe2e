package dev.criumigration.migration.cli;

import dev.criumigration.migration.Documents;
import dev.criumigration.migration.UsageException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * The step-by-step flow's memory between commands: page-server writes {"pageServer": ...}, dump adds
 * "dump", restore adds "restore". Plain JSON, written atomically.
 */
final class StateFile {
    private StateFile() {}

    static Map<String, Object> read(Path file) {
        if (!Files.isReadable(file)) {
            throw new UsageException("state file " + file + " does not exist or is not readable: give the file "
                    + "written by the previous step (--state)");
        }
        try {
            return Documents.parseObject(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException | UsageException e) {
            throw new UsageException("cannot read state file " + file + ": " + e.getMessage() + "; give the file written "
                    + "by the previous step (--state)");
        }
    }

    static Map<?, ?> section(Map<String, Object> state, String key, Path file, String writtenBy) {
        Object section = state.get(key);
        if (!(section instanceof Map<?, ?> map)) {
            throw new UsageException("state file " + file + " has no '" + key + "': run '" + writtenBy
                    + " --state " + file + "' first");
        }
        return map;
    }

    /** Fails before anything runs when the result could not be kept (a started page server would be lost). */
    static void checkWritable(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent) || !Files.isWritable(parent)) {
            throw new UsageException("cannot write the state file " + file + ": its directory does not exist or is "
                    + "not writable");
        }
        if (Files.exists(file) && !Files.isWritable(file)) {
            throw new UsageException("cannot write the state file " + file);
        }
    }

    static void write(Path file, Map<String, Object> state) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Path temporary = Files.createTempFile(parent, file.getFileName().toString(), ".tmp");
            Files.writeString(temporary, Documents.toJson(state) + "\n", StandardCharsets.UTF_8);
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UsageException("cannot write state file " + file + ": " + e.getMessage());
        }
    }
}
