package dev.criumigration.migration.ssh;

/** A finished remote command: its exit status and what it printed (UTF-8). */
public record CommandResult(int exitStatus, String stdout, String stderr) {
    public boolean ok() {
        return exitStatus == 0;
    }

    /** The first non-blank line of stderr (else stdout), for messages. */
    public String firstErrorLine() {
        for (String text : new String[] {stderr, stdout}) {
            for (String line : text.split("\\R")) {
                if (!line.isBlank()) {
                    return line.strip();
                }
            }
        }
        return "exit status " + exitStatus;
    }
}
