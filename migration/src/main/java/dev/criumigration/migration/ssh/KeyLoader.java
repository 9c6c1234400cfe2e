package dev.criumigration.migration.ssh;

import dev.criumigration.migration.MigrationException;
import dev.criumigration.migration.MigrationException.Kind;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.FilePasswordProvider;
import org.apache.sshd.common.session.SessionContext;
import org.apache.sshd.common.util.security.SecurityUtils;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Reads private keys (OpenSSH or PEM; ed25519, RSA, ECDSA; plain or passphrase-protected). */
final class KeyLoader {
    private static final String[] DEFAULT_KEY_FILES = {"id_ed25519", "id_ecdsa", "id_rsa"};

    /** Thrown from the password provider when a key is encrypted and no passphrase was given. */
    private static final class PassphraseNeeded extends IOException {
        private static final long serialVersionUID = 1L;
    }

    private KeyLoader() {}

    static List<KeyPair> load(SshIdentity identity) throws MigrationException {
        String name = identity.describe();
        char[] passphrase = identity.passphrase();
        FilePasswordProvider passwords = new FilePasswordProvider() {
            @Override
            public String getPassword(SessionContext session, NamedResource resource, int retry) throws IOException {
                if (passphrase == null) {
                    throw new PassphraseNeeded();
                }
                return new String(passphrase);
            }

            @Override
            public ResourceDecodeResult handleDecodeAttemptResult(SessionContext session, NamedResource resource,
                                                                  int retry, String password, Exception err) {
                return err == null ? null : ResourceDecodeResult.TERMINATE;
            }
        };
        try (InputStream in = open(identity)) {
            List<KeyPair> keys = new ArrayList<>();
            Iterable<KeyPair> loaded = SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName(name), in, passwords);
            if (loaded != null) {
                loaded.forEach(keys::add);
            }
            if (keys.isEmpty()) {
                throw new MigrationException(null, Kind.USAGE, "no private key found in " + name,
                        "give an OpenSSH or PEM private key (ed25519, RSA or ECDSA), not a public key");
            }
            return keys;
        } catch (PassphraseNeeded e) {
            throw new MigrationException(null, Kind.AUTH, "the private key " + name + " is encrypted and no passphrase "
                    + "was given", "give its passphrase (--identity-passphrase-file, or the credential's passphrase)");
        } catch (MigrationException e) {
            throw e;
        } catch (Exception e) {
            if (passphrase != null) {
                throw new MigrationException(null, Kind.AUTH, "the private key " + name + " could not be decrypted with "
                        + "the passphrase given (" + e.getMessage() + ")", "check the passphrase");
            }
            throw new MigrationException(null, Kind.USAGE, "the private key " + name + " cannot be read: "
                    + e.getMessage(), "give an OpenSSH or PEM private key (ed25519, RSA or ECDSA)");
        }
    }

    private static InputStream open(SshIdentity identity) throws IOException {
        if (identity.file().isPresent()) {
            return Files.newInputStream(identity.file().get());
        }
        return new ByteArrayInputStream(identity.keyText().orElseThrow().getBytes(StandardCharsets.UTF_8));
    }

    /** The controller user's unencrypted default keys in ~/.ssh, for when no identity was configured. */
    static List<KeyPair> loadDefaults(Consumer<String> log) {
        List<KeyPair> keys = new ArrayList<>();
        Path dir = Path.of(System.getProperty("user.home"), ".ssh");
        for (String file : DEFAULT_KEY_FILES) {
            Path path = dir.resolve(file);
            if (!Files.isReadable(path)) {
                continue;
            }
            try {
                keys.addAll(load(SshIdentity.fromFile(path, null)));
            } catch (MigrationException e) {
                log.accept("skipping default key " + path + ": " + e.getMessage());
            }
        }
        return keys;
    }
}
