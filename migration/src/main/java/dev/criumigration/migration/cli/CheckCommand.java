package dev.criumigration.migration.cli;

import dev.criumigration.agent.protocol.CheckResult;
import dev.criumigration.migration.ssh.HostAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Checks hosts: SSH, the agent (deployed if needed), Java, CRIU and the kernel.")
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec command;

    @Mixin
    ConnectionOptions connection;

    @Parameters(arity = "1..*", paramLabel = "[USER@]HOST[:PORT]", converter = HostAddressConverter.class,
            description = "Hosts to check.")
    List<HostAddress> hosts;

    @Override
    public Integer call() {
        return EngineRun.withEngine(command, connection, null, engine -> {
            Map<String, Object> results = new LinkedHashMap<>();
            StringBuilder text = new StringBuilder();
            for (HostAddress host : hosts) {
                CheckResult check = engine.check(host);
                Map<String, Object> map = new LinkedHashMap<>();
                map.put("ok", check.getOk());
                map.put("criuVersion", check.getCriuVersion());
                map.put("kernel", check.getKernel());
                map.put("javaVersion", check.getJavaVersion());
                map.put("agentVersion", check.getAgentVersion());
                map.put("memoryAvailableBytes", check.getMemoryAvailableBytes());
                map.put("problems", List.copyOf(check.getProblemsList()));
                results.put(host.toString(), map);
                text.append(host).append(": ok, CRIU ").append(check.getCriuVersion()).append(", kernel ")
                        .append(check.getKernel()).append(", Java ").append(check.getJavaVersion()).append('\n');
            }
            EngineRun.print(command, connection, results, text.toString().strip());
            return MigrateMain.OK;
        });
    }
}
