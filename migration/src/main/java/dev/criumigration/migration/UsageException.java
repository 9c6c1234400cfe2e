package dev.criumigration.migration;

/**
 * Bad input from the caller (an address, a size, an option): the message says what was wrong and
 * what to write instead. Nothing was changed on any host. Unchecked so that value parsing can be used
 * in constructors; the engine reports it as a {@link MigrationException} of kind USAGE.
 */
public final class UsageException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
        super(message);
    }
}
