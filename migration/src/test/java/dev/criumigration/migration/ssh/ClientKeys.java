package dev.criumigration.migration.ssh;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Client key pairs made with ssh-keygen, one per kind the engine must read. */
public final class ClientKeys implements AutoCloseable {
    public static final String PASSPHRASE = "correct horse battery";

    public enum Kind {
        ED25519_OPENSSH("ed25519", List.of("-t", "ed25519"), ""),
        RSA_OPENSSH("rsa", List.of("-t", "rsa", "-b", "2048"), ""),
        RSA_PEM("rsa-pem", List.of("-t", "rsa", "-b", "2048", "-m", "PEM"), ""),
        ECDSA_OPENSSH("ecdsa", List.of("-t", "ecdsa", "-b", "256"), ""),
        ECDSA_PEM("ecdsa-pem", List.of("-t", "ecdsa", "-b", "384", "-m", "PEM"), ""),
        ED25519_PASSPHRASE("ed25519-pass", List.of("-t", "ed25519"), PASSPHRASE),
        RSA_PEM_PASSPHRASE("rsa-pem-pass", List.of("-t", "rsa", "-b", "2048", "-m", "PEM"), PASSPHRASE),
        /** Not in authorized_keys: the host refuses it. */
        UNAUTHORIZED("unauthorized", List.of("-t", "ed25519"), "");

        final String file;
        final List<String> options;
        final String passphrase;

        Kind(String file, List<String> options, String passphrase) {
            this.file = file;
            this.options = options;
            this.passphrase = passphrase;
        }

        public char[] passphrase() {
            return passphrase.isEmpty() ? null : passphrase.toCharArray();
        }
    }

    private final Path dir;

    private ClientKeys(Path dir) {
        this.dir = dir;
    }

    public static ClientKeys generate() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("client-keys-");
        for (Kind kind : Kind.values()) {
            List<String> command = new java.util.ArrayList<>(List.of("ssh-keygen", "-q"));
            command.addAll(kind.options);
            command.addAll(List.of("-N", kind.passphrase, "-C", kind.file, "-f", dir.resolve(kind.file).toString()));
            run(command);
        }
        return new ClientKeys(dir);
    }

    public Path privateKey(Kind kind) {
        return dir.resolve(kind.file);
    }

    public String privateKeyText(Kind kind) throws IOException {
        return Files.readString(privateKey(kind), StandardCharsets.US_ASCII);
    }

    /** authorized_keys with every key but UNAUTHORIZED. */
    public String authorizedKeys() throws IOException {
        StringBuilder text = new StringBuilder();
        for (Kind kind : Kind.values()) {
            if (kind != Kind.UNAUTHORIZED) {
                text.append(Files.readString(dir.resolve(kind.file + ".pub")).strip()).append('\n');
            }
        }
        return text.toString();
    }

    public Path dir() {
        return dir;
    }

    @Override
    public void close() throws IOException {
        deleteTree(dir);
    }

    static void run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IOException(command + " failed: " + output);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
