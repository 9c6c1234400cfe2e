package dev.criumigration.migration.deploy;

import dev.criumigration.migration.SshSettings;

import java.util.ArrayList;
import java.util.List;

/**
 * The one place that says how the agent's JVM starts on a host (the Ansible role's wrapper and the
 * installer's use the same flags; docs/agent.md). Each flag was measured by bench/agent-start.sh
 * (docs/benchmarks.md) and stays only because it shortens the start.
 *
 * <p>Not C1 only ({@code -XX:TieredStopAtLevel=1}): it saved about 40 ms of start, but the page relay's
 * TLS then runs without C2's AES-GCM intrinsics, at 31 MB/s instead of 600 MB/s, all of it frozen time.
 */
public final class AgentLaunch {
    /**
     * The agent's stdout is its binary protobuf stream, and the JVM's unified logging writes warnings
     * (a stale class-data sharing archive, for one) to stdout by default: all of it goes to stderr.
     */
    static final List<String> JVM_OUTPUT_TO_STDERR = List.of("-Xlog:disable", "-Xlog:all=warning:stderr");
    private AgentLaunch() {
    }

    /** The class-data sharing archive that belongs to {@code jarPath}: beside it, same name, {@code .jsa}. */
    public static String archivePath(String jarPath) {
        return jarPath.replaceFirst("\\.jar$", "") + ".jsa";
    }

    /**
     * {@code java FLAGS -jar JAR serve --images-base BASE}. The archive is always named: a JVM that finds
     * none there, or one it cannot use, starts without it (and says so on stderr only).
     */
    public static List<String> serve(SshSettings settings, String jarPath) {
        return command(settings, "-XX:SharedArchiveFile=" + archivePath(jarPath), jarPath);
    }

    /** The training run of the deployer: the same launch, writing the archive to {@code archivePart} at exit. */
    static List<String> training(SshSettings settings, String jarPath, String archivePart) {
        return command(settings, "-XX:ArchiveClassesAtExit=" + archivePart, jarPath);
    }

    private static List<String> command(SshSettings settings, String archiveOption, String jarPath) {
        List<String> argv = new ArrayList<>();
        argv.add(settings.javaCommand());
        argv.addAll(JVM_OUTPUT_TO_STDERR);
        argv.add(archiveOption);
        argv.addAll(List.of("-jar", jarPath, "serve", "--images-base", settings.imagesBase()));
        return List.copyOf(argv);
    }
}
