package dev.criumigration.migration.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Bad input to criu-migrate, refused before any host is contacted: exit 2, what was wrong and what to
 * write instead, no stack trace, and no marker file that a local shell would have made of the input.
 * The hosts here accept no SSH at all; input that reaches real hosts, with their SSH logs checked for
 * logins: {@code it.BadInputOnHostsTest}.
 */
class BadInputTest {
    @TempDir
    Path temp;
    private final Path marker = Path.of("/tmp/criu-migrate-pwned-" + UUID.randomUUID());

    @AfterEach
    void noShellRan() throws IOException {
        assertFalse(Files.exists(marker), "a shell ran the input");
        Files.deleteIfExists(marker);
    }

    /** A whole migration's arguments with one of them replaced or added. */
    private static String[] migrate(String... override) {
        List<String> argv = new ArrayList<>(List.of("--from", "127.0.0.1:1", "--to", "127.0.0.1:2", "--pid", "4242"));
        for (int i = 0; i < override.length; i += 2) {
            int at = argv.indexOf(override[i]);
            if (at >= 0) {
                argv.set(at + 1, override[i + 1]);
            } else {
                argv.add(override[i]);
                argv.add(override[i + 1]);
            }
        }
        return argv.toArray(String[]::new);
    }

    private static void refused(String expected, String... args) {
        MigrateMainTest.assertUsageError(MigrateMainTest.run(args), expected);
    }

    @Test
    void shellMetacharactersInAHost() {
        refused("is not a valid host name", migrate("--to", "a;touch " + "/tmp/x"));
        refused("is not a valid host name", migrate("--to", "$(touch " + marker + ")"));
    }

    @Test
    void shellMetacharactersInAUser() {
        refused("is not a valid user name", migrate("--from", "$(touch " + marker + ")@127.0.0.1"));
        refused("is not a valid user name", migrate("--user", "`touch " + marker + "`"));
    }

    @Test
    void shellMetacharactersInTheImagesDirectory() {
        refused("has characters other than", migrate("--images-dir",
                "/var/lib/criu-migration/images/x; touch " + marker));
        refused("has characters other than", "page-server", "--to", "127.0.0.1", "--state",
                temp.resolve("s.json").toString(), "--images-dir", "/var/lib/criu-migration/images/$(touch " + marker + ")");
    }

    @Test
    void anImagesDirectoryOutsideTheBase() {
        refused("is not inside the images base directory", migrate("--images-dir", "/etc"));
        refused("is not inside the images base directory", migrate("--images-dir", "/tmp/images",
                "--images-base", "/var/lib/criu-migration/images"));
        refused("must not contain '.' or '..'", migrate("--images-dir", "/var/lib/criu-migration/images/../../../etc"));
    }

    @Test
    void aBadImagesBaseAgentDirectoryOrJava() {
        refused("must be an absolute path", migrate("--images-base", "images"));
        refused("has characters other than", migrate("--agent-dir", "/tmp/$(touch " + marker + ")"));
        refused("must be a command name or a path", migrate("--java", "java;touch " + marker));
    }

    @Test
    void anUnknownHost() {
        refused("unknown host 'no-such-host.invalid'", migrate("--to", "no-such-host.invalid"));
    }

    @Test
    void portsOutOfRange() {
        refused("1-65535", migrate("--to", "127.0.0.1:0"));
        refused("1-65535", migrate("--from", "127.0.0.1:65536"));
        refused("out of range", "page-server", "--to", "127.0.0.1", "--state", temp.resolve("s.json").toString(),
                "--port", "70000");
    }

    @Test
    void pageServerAddressesThatAreNotOneAddress() {
        refused("would listen on every interface", "page-server", "--to", "127.0.0.1", "--state",
                temp.resolve("s.json").toString(), "--address", "0.0.0.0");
        refused("would listen on every interface", "page-server", "--to", "127.0.0.1", "--state",
                temp.resolve("s.json").toString(), "--address", "::ffff:0:0");
        refused("is not an IP address", "page-server", "--to", "127.0.0.1", "--state",
                temp.resolve("s.json").toString(), "--address", "::ffff:0.0.0.0");
        refused("is not an IP address", "page-server", "--to", "127.0.0.1", "--state",
                temp.resolve("s.json").toString(), "--address", "dst;touch " + marker);
        refused("would listen on every interface", migrate("--page-server-address", "0.0.0.0"));
        refused("is not an IP address", migrate("--page-server-address", "dst.example"));
    }

    @Test
    void badDurations() {
        refused("is not a duration", migrate("--timeout", "0s"));
        refused("is not a duration", migrate("--timeout", "-5m"));
        refused("is not a duration", migrate("--connect-timeout", "soon"));
    }

    @Test
    void sizesOutOfRange() {
        refused("must be more than zero", migrate("--tmpfs-size", "0"));
        refused("is too large", migrate("--tmpfs-size", "99999999999T"));
    }

    @Test
    void keysThatCannotBeUsed() throws IOException {
        Path notAKey = Files.writeString(temp.resolve("id_junk"), "this is not a key\n");
        refused("no private key found", migrate("-i", notAKey.toString()));
        refused("does not exist", migrate("-i", temp.resolve("id_missing").toString()));
        refused("cannot read the passphrase file", migrate("--passphrase-file", temp.resolve("missing").toString()));
    }

    @Test
    void missingCredentials() throws IOException {
        Path emptyHome = Files.createDirectory(temp.resolve("home"));
        String home = System.getProperty("user.home");
        System.setProperty("user.home", emptyHome.toString());
        try {
            refused("no SSH key", migrate());
        } finally {
            System.setProperty("user.home", home);
        }
    }

    @Test
    void aStateFileThatIsNotOne() throws IOException {
        Path garbage = Files.writeString(temp.resolve("garbage.json"), "{not json");
        refused("cannot read state file", "restore", "--state", garbage.toString());
        Path empty = Files.writeString(temp.resolve("empty.json"), "{}");
        refused("has no 'dump'", "restore", "--state", empty.toString());
        refused("has no 'pageServer'", "abort", "--state", empty.toString());
    }
}
