package io.streamgpt.cli.stack;

import io.streamgpt.cli.Paths;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * {@code streamgpt stack up|down|status}: Kafka, a Flink session cluster and Prometheus as local
 * processes.
 */
@Command(
        name = "stack",
        mixinStandardHelpOptions = true,
        description =
                "Run the stack streamgpt is submitted to: a Kafka broker, a Flink session cluster"
                    + " and Prometheus, as processes on 127.0.0.1 with pid files and logs under a"
                    + " run directory.")
public final class StackCommand implements Runnable {

    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Where the stack lives and which ports it takes. */
    static final class StackOptions {

        @Spec(Spec.Target.MIXEE)
        CommandSpec command;

        @Option(
                names = "--run-dir",
                description =
                        "Pid files, logs, configs, Kafka data, checkpoints (default:"
                                + " <streamgpt>/runs/stack).")
        Path runDir;

        @Option(
                names = "--kafka-port",
                defaultValue = "9092",
                description = "Kafka broker port. Default: ${DEFAULT-VALUE}.")
        int kafkaPort;

        @Option(
                names = "--kafka-controller-port",
                defaultValue = "9093",
                description = "Kafka KRaft controller port. Default: ${DEFAULT-VALUE}.")
        int kafkaControllerPort;

        @Option(
                names = "--flink-port",
                defaultValue = "8081",
                description = "Flink REST API and web UI port. Default: ${DEFAULT-VALUE}.")
        int flinkPort;

        @Option(
                names = "--flink-rpc-port",
                defaultValue = "6123",
                description = "Flink JobManager RPC port. Default: ${DEFAULT-VALUE}.")
        int flinkRpcPort;

        @Option(
                names = "--prometheus-port",
                defaultValue = "9090",
                description = "Prometheus port. Default: ${DEFAULT-VALUE}.")
        int prometheusPort;

        @Option(
                names = "--reporter-ports",
                defaultValue = "9249-9259",
                description =
                        "Port range of the Flink Prometheus reporters, one per process. Default:"
                                + " ${DEFAULT-VALUE}.")
        String reporterPorts;

        @Option(
                names = "--taskmanagers",
                defaultValue = "1",
                description = "TaskManager processes. Default: ${DEFAULT-VALUE}.")
        int taskManagers;

        @Option(
                names = "--slots",
                defaultValue = "2",
                description =
                        "Task slots per TaskManager: one per replica. Default: ${DEFAULT-VALUE}.")
        int slots;

        @Option(
                names = "--taskmanager-heap-mb",
                defaultValue = "768",
                description = "Task heap of each TaskManager. Default: ${DEFAULT-VALUE}.")
        int heapMb;

        @Option(
                names = "--taskmanager-native-mb",
                defaultValue = "1024",
                description =
                        "Native (task off-heap) memory of each TaskManager, for libtorch. Default:"
                                + " ${DEFAULT-VALUE}.")
        int nativeMb;

        @Option(names = "--no-prometheus", description = "Do not run Prometheus.")
        boolean noPrometheus;

        @Option(
                names = "--secure",
                description =
                        "Run the broker with SASL_SSL (SCRAM-SHA-512, a certificate made at first"
                                + " start) and ACLs; its admin's client config is"
                                + " <run-dir>/kafka/security/client.properties, for --kafka-config"
                                + " (or $STREAMGPT_KAFKA_CONFIG) of every command and the job.")
        boolean secure;

        Path resolvedRunDir() {
            return runDir != null ? runDir : Paths.home().resolve("runs").resolve("stack");
        }

        ClusterStack.Settings settings() {
            return new ClusterStack.Settings(
                    Paths.home(),
                    resolvedRunDir(),
                    kafkaPort,
                    kafkaControllerPort,
                    flinkPort,
                    flinkRpcPort,
                    prometheusPort,
                    reporterPorts,
                    taskManagers,
                    slots,
                    heapMb,
                    nativeMb,
                    !noPrometheus,
                    secure);
        }

        /** Whether the command line gives a setting of the stack, not just its run directory. */
        boolean givesSettings() {
            return command.commandLine().getParseResult().matchedOptions().stream()
                    .anyMatch(option -> !option.longestName().equals("--run-dir"));
        }

        /**
         * The settings {@code up} starts with: the options given, or, when none but the run
         * directory is, those the stack in it was started with last time (its stack.json).
         */
        ClusterStack.Settings upSettings() throws java.io.IOException {
            if (givesSettings()) {
                return settings();
            }
            return ClusterStack.startedIn(resolvedRunDir())
                    .map(recorded -> recorded.withHome(Paths.home()))
                    .orElseGet(this::settings);
        }

        /** down and status act on the stack as it was started, whatever ports they are given. */
        ClusterStack started() throws java.io.IOException {
            return new ClusterStack(
                    ClusterStack.startedIn(resolvedRunDir()).orElseGet(this::settings));
        }
    }

    @Command(
            name = "up",
            mixinStandardHelpOptions = true,
            description =
                    "Start what is not running yet; wait until it answers. Without options (but"
                            + " --run-dir), with the settings the stack was last started with.")
    int up(@Mixin StackOptions options) throws Exception {
        new ClusterStack(options.upSettings()).up(spec.commandLine().getOut());
        return 0;
    }

    @Command(
            name = "down",
            mixinStandardHelpOptions = true,
            description = "Stop what `up` started (by pid file).")
    int down(@Mixin StackOptions options) throws Exception {
        options.started().down(spec.commandLine().getOut());
        return 0;
    }

    @Command(
            name = "status",
            mixinStandardHelpOptions = true,
            description = "Show what runs, where, and its log.")
    int status(@Mixin StackOptions options) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ClusterStack stack = options.started();
        out.printf("run directory %s%n", stack.settings().runDir());
        int running = 0;
        for (ClusterStack.ServiceStatus service : stack.status()) {
            out.printf(
                    "  %-14s %-16s %-40s %s%n",
                    service.name(),
                    service.pid().map(pid -> "running " + pid).orElse("stopped"),
                    service.address(),
                    service.log());
            running += service.pid().isPresent() ? 1 : 0;
        }
        out.flush();
        return running == 0 ? 3 : 0; // like `systemctl status`: non-zero when nothing runs
    }
}
