package dev.criumigration.migration.deploy;

import dev.criumigration.migration.SshSettings;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentLaunchTest {
    private static final String JAR = "/var/lib/criu-migration/agent/criu-agent-ab12.jar";
    private static final SshSettings SETTINGS = SshSettings.builder().javaCommand("/opt/java/bin/java")
            .imagesBase("/srv/images").build();

    @Test
    void theArchiveLivesBesideItsJar() {
        assertEquals("/var/lib/criu-migration/agent/criu-agent-ab12.jsa", AgentLaunch.archivePath(JAR));
    }

    @Test
    void serveKeepsTheJvmOffStdoutAndNamesTheArchive() {
        assertEquals(List.of("/opt/java/bin/java", "-Xlog:disable", "-Xlog:all=warning:stderr",
                "-XX:SharedArchiveFile=/var/lib/criu-migration/agent/criu-agent-ab12.jsa",
                "-jar", JAR, "serve", "--images-base", "/srv/images"), AgentLaunch.serve(SETTINGS, JAR));
    }

    @Test
    void trainingIsTheSameLaunchWritingTheArchiveAtExit() {
        List<String> serve = AgentLaunch.serve(SETTINGS, JAR);
        List<String> training = AgentLaunch.training(SETTINGS, JAR, "/tmp/part");
        assertEquals(serve.size(), training.size());
        for (int i = 0; i < serve.size(); i++) {
            if (serve.get(i).startsWith("-XX:SharedArchiveFile=")) {
                assertEquals("-XX:ArchiveClassesAtExit=/tmp/part", training.get(i));
            } else {
                assertEquals(serve.get(i), training.get(i));
            }
        }
    }

    /** The installer and the Ansible role's launcher start the same JVM as the engine. */
    @Test
    void theInstallerAndTheRoleUseTheSameFlags() throws Exception {
        List<String> flags = new ArrayList<>(AgentLaunch.JVM_OUTPUT_TO_STDERR);
        Matcher installer = Pattern.compile("(?m)^AGENT_JVM_FLAGS=\\(([^)]*)\\)$")
                .matcher(Files.readString(Path.of("../src/install/install-host.sh")));
        assertTrue(installer.find(), "install-host.sh has no AGENT_JVM_FLAGS");
        assertEquals(flags, Arrays.asList(installer.group(1).split(" ")));

        String launcher = Files.readString(Path.of("../ansible/roles/criu_host/templates/criu-agent.j2"));
        assertTrue(launcher.contains("exec java " + String.join(" ", AgentLaunch.JVM_OUTPUT_TO_STDERR) + " "), launcher);
        assertTrue(launcher.contains("-XX:SharedArchiveFile="), launcher);
        assertFalse(launcher.contains("TieredStopAtLevel"), "C1 only starves the relay's TLS: " + launcher);
    }
}
