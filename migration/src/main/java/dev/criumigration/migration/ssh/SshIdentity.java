package dev.criumigration.migration.ssh;

import dev.criumigration.migration.UsageException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A private key to log in with: a file (OpenSSH or PEM; ed25519, RSA, ECDSA) or the key's text (as a
 * Jenkins credential carries it), optionally encrypted with a passphrase, optionally with the user it
 * belongs to. The key text and passphrase are never printed.
 */
public final class SshIdentity {
    private final Path file;
    private final String keyText;
    private final String user;
    private final char[] passphrase;

    private SshIdentity(Path file, String keyText, String user, char[] passphrase) {
        this.file = file;
        this.keyText = keyText;
        this.user = user;
        this.passphrase = passphrase == null || passphrase.length == 0 ? null : passphrase.clone();
    }

    /** A private key file; {@code passphrase} null or empty for an unencrypted key. */
    public static SshIdentity fromFile(Path file, char[] passphrase) {
        if (file == null) {
            throw new UsageException("an identity file is required");
        }
        if (!Files.isRegularFile(file)) {
            throw new UsageException("identity file " + file + " does not exist or is not a file: give the path of a "
                    + "private key (e.g. ~/.ssh/id_ed25519)");
        }
        if (!Files.isReadable(file)) {
            throw new UsageException("identity file " + file + " is not readable by this user");
        }
        return new SshIdentity(file, null, null, passphrase);
    }

    /**
     * A private key given as text ("-----BEGIN OPENSSH PRIVATE KEY-----..."); {@code user} (may be
     * null) is the login used when the host address names none.
     */
    public static SshIdentity fromText(String user, String keyText, char[] passphrase) {
        if (keyText == null || !keyText.contains("-----BEGIN")) {
            throw new UsageException("the SSH key text is not a private key: expected a block starting with "
                    + "-----BEGIN ... PRIVATE KEY-----");
        }
        if (user != null && user.isBlank()) {
            user = null;
        }
        if (user != null) {
            HostAddress.of(user, "localhost", HostAddress.DEFAULT_PORT); // validates the user name
        }
        return new SshIdentity(null, keyText, user, passphrase);
    }

    public Optional<Path> file() {
        return Optional.ofNullable(file);
    }

    Optional<String> keyText() {
        return Optional.ofNullable(keyText);
    }

    /** The user this key belongs to, when it came with one. */
    public Optional<String> user() {
        return Optional.ofNullable(user);
    }

    char[] passphrase() {
        return passphrase;
    }

    /** Where the key came from, for messages: the file name or "key text". */
    public String describe() {
        return file != null ? file.toString() : user != null ? "key text for " + user : "key text";
    }

    @Override
    public String toString() {
        return "SshIdentity[" + describe() + (passphrase != null ? ", with passphrase" : "") + "]";
    }
}
