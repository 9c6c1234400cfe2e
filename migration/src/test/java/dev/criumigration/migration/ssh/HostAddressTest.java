package dev.criumigration.migration.ssh;

import dev.criumigration.migration.UsageException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostAddressTest {
    @ParameterizedTest
    @CsvSource(nullValues = "-", value = {
        "host,                    -,     host,          22",
        "root@host.example,       root,  host.example,  22",
        "deploy@10.0.0.7:2222,    deploy, 10.0.0.7,     2222",
        "Host.Example.COM:22,     -,     host.example.com, 22",
        "[::1],                   -,     ::1,           22",
        "admin@[fe80::1%eth0]:2200, admin, fe80::1%eth0, 2200",
        "a_b.c-d@x:65535,         a_b.c-d, x,           65535",
    })
    void parsesUserHostAndPort(String text, String user, String host, int port) {
        HostAddress address = HostAddress.parse(text);
        assertEquals(user, address.user().orElse(null));
        assertEquals(host, address.host());
        assertEquals(port, address.port());
        assertEquals(address, HostAddress.parse(address.toString()), "toString parses back");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "@host", "host:", "host:0", "host:65536", "host:22x", "-oProxyCommand=x",
        "us er@host", "-x@host", "host name", "::1", "[::1", "[::1]x", "host;rm -rf /", "a..b", "user@", "h$(x)"})
    void rejectsBadInputWithAClearMessage(String text) {
        UsageException e = assertThrows(UsageException.class, () -> HostAddress.parse(text));
        assertTrue(e.getMessage().length() > 10, e.getMessage());
    }

    @Test
    void messagesSayWhatToWrite() {
        assertTrue(HostAddress.parse("x@h").withDefaultUser("root").user().orElseThrow().equals("x"));
        assertEquals("root", HostAddress.parse("h").withDefaultUser("root").user().orElseThrow());
        assertTrue(assertThrows(UsageException.class, () -> HostAddress.parse("::1")).getMessage().contains("brackets"));
        assertTrue(assertThrows(UsageException.class, () -> HostAddress.parse("h:99999")).getMessage()
                .contains("1-65535"));
        assertEquals("[127.0.0.1]:2222", HostAddress.parse("root@127.0.0.1:2222").knownHostsName());
        assertEquals("example.org", HostAddress.parse("example.org").knownHostsName());
    }
}
