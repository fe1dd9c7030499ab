package io.streamgpt.cli.stream;

import io.streamgpt.cli.JobOptions;
import io.streamgpt.cli.Paths;
import io.streamgpt.cli.PreflightOption;
import io.streamgpt.cli.serve.HttpApi;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.JobModelMetadata;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.core.execution.JobClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The whole system on one machine: an in-process Kafka broker and a Flink MiniCluster (Prometheus
 * reporter on 127.0.0.1), the topics, tiny Shakespeare fed into the text topic, the streaming job
 * with its replicas, and a live view of its losses and samples.
 */
@Command(
        name = "local",
        mixinStandardHelpOptions = true,
        modelTransformer = JobOptions.class,
        description =
                "Run the streaming trainer locally: in-process Kafka + Flink MiniCluster, fed with"
                        + " a corpus, with a live view.")
public final class LocalCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Mixin PreflightOption preflight;

    @Option(
            names = "--data",
            description =
                    "File fed into the first text topic (default: the bundled tiny Shakespeare);"
                            + " its characters are the vocabulary unless --vocab is given.")
    Path data;

    @Option(
            names = "--no-feed",
            description = "Feed nothing; train on what the text topics hold or receive.")
    boolean noFeed;

    @Option(
            names = "--kafka-port",
            defaultValue = "0",
            description =
                    "Port of the in-process broker; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
    int kafkaPort;

    @Option(
            names = "--prometheus-ports",
            defaultValue = "9249-9259",
            description =
                    "Port range of the Prometheus reporter (127.0.0.1). Default: ${DEFAULT-VALUE}.")
    String prometheusPorts;

    @Option(
            names = "--console-port",
            defaultValue = "8088",
            description =
                    "Port of the web console and HTTP API on 127.0.0.1 (a free one if taken); -1"
                            + " for none. Default: ${DEFAULT-VALUE}.")
    int consolePort;

    @Option(
            names = "--keep-checkpoints",
            description =
                    "On a clean stop, keep this run's state (a savepoint in the checkpoint"
                            + " directory) for --resume; without it the run's checkpoints are"
                            + " removed.")
    boolean keepCheckpoints;

    @Option(
            names = "--resume",
            description =
                    "Start from the newest state kept in the checkpoint directory (see"
                            + " --keep-checkpoints): the steps, the model, the data offsets.")
    boolean resume;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Map<String, String> arguments = new LinkedHashMap<>(JobOptions.arguments(spec));
        boolean externalKafka = arguments.containsKey(KafkaConfig.BOOTSTRAP_SERVERS.name());
        if (data != null && !noFeed && !arguments.containsKey(InputConfig.VOCABULARY.name())) {
            // the user's own text: its own characters, every one learnt (docs/text.md)
            if (!java.nio.file.Files.isRegularFile(data)) {
                throw new IllegalArgumentException("no file " + data);
            }
            Vocabulary own = Vocabulary.ofCorpus(data);
            arguments.put(InputConfig.VOCABULARY.name(), own.spec());
            out.printf(
                    "vocabulary: the %d characters of %s (--vocab shakespeare or bytes for"
                            + " another)%n",
                    own.size(), data);
        }
        JobConfig options = JobConfig.parse(arguments); // every option checked before starting
        arguments.putIfAbsent(
                CheckpointConfig.DIRECTORY.name(),
                Paths.home().resolve("runs").resolve("checkpoints").toUri().toString());
        LocalCheckpoints checkpoints =
                new LocalCheckpoints(arguments.get(CheckpointConfig.DIRECTORY.name()));
        String restoreFrom = resume ? checkpoints.newestForResume() : null;
        if (restoreFrom != null) {
            LocalCheckpoints.refuseAnotherModel(restoreFrom, JobModelMetadata.of(options));
        }
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook =
                new Thread(
                        () -> {
                            stop.set(true);
                            try {
                                stopped.await(
                                        180, TimeUnit.SECONDS); // a kept run stops with a savepoint
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        });
        Runtime.getRuntime().addShutdownHook(hook);
        try (EmbeddedKafka kafka = externalKafka ? null : EmbeddedKafka.start(kafkaPort, null)) {
            if (kafka != null) {
                // the in-process broker is plaintext: another Kafka's client settings do not apply
                arguments.remove(KafkaConfig.CONFIG_FILE.name());
                arguments.remove(KafkaConfig.PROPERTIES.name());
                arguments.put(KafkaConfig.BOOTSTRAP_SERVERS.name(), kafka.bootstrapServers());
                out.println("Kafka broker (in-process) on " + kafka.bootstrapServers());
            }
            JobConfig config = JobConfig.parse(arguments);
            preflight.check(
                    config); // Kafka answers and suits the job, before anything is created or fed
            out.print(config.describe());
            out.flush();
            Path corpus = noFeed ? null : data != null ? data : Paths.shakespeare();
            long records = LocalStack.prepareTopics(config, corpus);
            if (corpus != null && !config.topics().text().isEmpty()) {
                out.printf(
                        "fed %s into topic %s: %d records%n",
                        corpus, config.topics().text().get(0), records);
            }
            long startedMs = System.currentTimeMillis();
            int restPort = freePort();
            JobClient client =
                    LocalStack.startJob(
                            config,
                            prometheusPorts,
                            restPort,
                            LocalCheckpoints.restoring(restoreFrom));
            checkpoints.recordModel(client.getJobID(), JobModelMetadata.of(config));
            out.println(
                    "job "
                            + client.getJobID()
                            + (restoreFrom != null ? " resumed from " + restoreFrom + "," : "")
                            + " running; Prometheus metrics on 127.0.0.1:"
                            + prometheusPorts
                            + "; Ctrl-C stops");
            out.flush();
            InputRate input =
                    new InputRate("http://127.0.0.1:" + restPort, client.getJobID().toString());
            try (LiveView view = new LiveView(config, out, startedMs, input);
                    HttpApi console = consolePort < 0 ? null : startConsole(config)) {
                if (console != null) {
                    out.println("web console: http://127.0.0.1:" + console.port() + "/");
                    out.flush();
                }
                long stopAt = LiveView.lastReportedStep(config);
                while (!stop.get() && !view.poll(stopAt)) {
                    if (client.getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                        out.println("the job ended: " + client.getJobStatus().get());
                        break;
                    }
                }
            } finally {
                if (!client.getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                    checkpoints.stop(client, keepCheckpoints, restoreFrom, out);
                }
                out.println("stopped");
                out.flush();
            }
        } finally {
            stopped.countDown();
            if (!stop.get()) {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
        }
        return 0;
    }

    /** A port free now on 127.0.0.1, for the MiniCluster's REST API that the live view reads. */
    private static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket socket =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private HttpApi startConsole(JobConfig config) {
        try {
            return new HttpApi(HttpApi.Settings.forJob(config, consolePort));
        } catch (RuntimeException e) { // the port is taken (another local or serve): any port
            return new HttpApi(HttpApi.Settings.forJob(config, 0));
        }
    }
}
