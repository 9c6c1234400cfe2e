package dev.criumigration.migration.cli;

import dev.criumigration.migration.PageServerInfo;
import dev.criumigration.migration.PageServerSpec;
import dev.criumigration.migration.PageStream;
import dev.criumigration.migration.ssh.HostAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "page-server", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Starts a detached CRIU page server on a tmpfs on the destination (step 1 of 3).")
final class PageServerCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Option(names = "--to", required = true, paramLabel = "[USER@]HOST[:PORT]",
            converter = HostAddressConverter.class, description = "The destination host.")
    HostAddress to;

    @Mixin
    StateFileOption state;

    @Option(names = "--images-dir", paramLabel = "DIR",
            description = "Images directory on the destination, inside the images base (default: a new one).")
    String imagesDir;

    @Option(names = "--tmpfs-size", paramLabel = "SIZE", description = "tmpfs size (default: available memory).")
    String tmpfsSize;

    @Option(names = "--address", paramLabel = "IP",
            description = "Address to listen on (default: the destination's address as resolved here).")
    String address;

    @Option(names = "--port", paramLabel = "PORT", description = "TCP port (default: any free one).")
    int port;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = Durations.class,
            description = "How long the page server waits for the dump (default: 10m).")
    Duration timeout;

    @Option(names = "--no-tls", description = "INSECURE: the page server and its dump without TLS (plain text).")
    boolean noTls;

    @Option(names = "--page-transport", paramLabel = "relay|criu", defaultValue = "relay",
            description = "relay (default): the destination's agent listens and carries the stream (TLS 1.3); criu: "
                    + "CRIU's page server listens itself (CRIU's TLS). The dump step follows.")
    String pageTransport;

    @Override
    public Integer call() {
        StateFile.checkWritable(state.file);
        PageServerSpec spec = new PageServerSpec(imagesDir, tmpfsSize, address, port, timeout, !noTls,
                PageStream.of(pageTransport, false, null).transport());
        return EngineRun.withEngine(command, connection, null, engine -> {
            PageServerInfo info = engine.startPageServer(to, spec);
            Map<String, Object> document = new LinkedHashMap<>();
            document.put("pageServer", info.toMap());
            StateFile.write(state.file, document);
            EngineRun.print(command, connection, info.toMap(), "page server on " + info.host() + " listens on " + info.address()
                    + ":" + info.port() + ", images in " + info.imagesDir());
            return MigrateMain.OK;
        });
    }
}
