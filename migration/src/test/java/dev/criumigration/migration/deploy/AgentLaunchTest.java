package dev.criumigration.migration.deploy;

import dev.criumigration.migration.SshSettings;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:-UsePerfData",
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
}
