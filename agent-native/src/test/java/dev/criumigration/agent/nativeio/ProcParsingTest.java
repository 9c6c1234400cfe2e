package dev.criumigration.agent.nativeio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The parsing of /proc texts, on texts as the kernel writes them. */
class ProcParsingTest {
    @Test
    void statIsReadAfterTheLastParenthesisOfTheCommandName() {
        Processes.Stat stat = Processes.parseStat(
                "4242 (a) b (c)) S 17 4242 4242 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 987654 10000 100\n");
        assertEquals(new Processes.Stat(4242, 'S', 17, 4194560), stat);
        assertEquals('Z', Processes.parseStat("7 (sh) Z 1 7 7 0 -1 4227084 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0").state());
    }

    @Test
    void aTreeIsItsRootThenItsDescendantsBreadthFirstByParentPid() {
        List<Processes.Stat> processes = List.of(stat(1, 0), stat(10, 1), stat(11, 10), stat(12, 10),
                stat(13, 11), stat(14, 12), stat(20, 1), stat(21, 20));
        assertEquals(List.of(10, 11, 12, 13, 14), Processes.treeOf(10, processes));
        assertEquals(List.of(21), Processes.treeOf(21, processes));
    }

    @Test
    void statusFieldsResidentMemoryAndNamespacePids() {
        String status = "Name:\tpython3\nNSpid:\t5123\t1\nVmRSS:\t   16884 kB\nThreads:\t1\n";
        assertEquals(Optional.of("16884 kB"), Processes.statusField(status, "VmRSS"));
        assertEquals(Optional.of("5123\t1"), Processes.statusField(status, "NSpid"));
        assertEquals(Optional.empty(), Processes.statusField("Name:\tkthreadd\n", "VmRSS"));
    }

    @Test
    void socketLinksNameTheirInode() {
        assertEquals(Optional.of(123456L), Processes.socketInode("socket:[123456]"));
        assertEquals(Optional.empty(), Processes.socketInode("pipe:[123456]"));
        assertEquals(Optional.empty(), Processes.socketInode("/tmp/socket:[1]"));
    }

    @Test
    void onlyListeningRowsOfTheTcpTablesCount() {
        String tcp = """
                    sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
                      0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0 100 0 0 10 0
                      1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 31338 1 0 20 4 30 10 -1
                      2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2001 1 0 100 0 0 10 0
                """;
        assertEquals(List.of(new TcpListeners.Listener(8080, 31337), new TcpListeners.Listener(22, 2001)),
                TcpListeners.parse(tcp));
        String tcp6 = """
                    sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
                      0: 00000000000000000000000000000000:1BB9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0 100 0 0 10 0
                """;
        assertEquals(List.of(new TcpListeners.Listener(7097, 4711)), TcpListeners.parse(tcp6));
    }

    @Test
    void thisProcessIsSeenInTheLiveProc() throws Exception {
        int self = LibC.INSTANCE.getpid();
        assertTrue(Processes.pids().contains(self));
        assertTrue(Processes.residentBytes(self) > 0);
        assertEquals(self, Processes.namespacePids(self).get(0));
        assertTrue(Processes.tree(self).get(0) == self);
    }

    private static Processes.Stat stat(int pid, int ppid) {
        return new Processes.Stat(pid, 'S', ppid, 0);
    }
}
