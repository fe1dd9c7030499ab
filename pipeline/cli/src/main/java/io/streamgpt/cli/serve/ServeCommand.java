package io.streamgpt.cli.serve;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** Serves the HTTP API ({@link HttpApi}) until interrupted. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description =
                "Serve an HTTP API for web clients: GET /samples, POST /generate, GET /healthz (see"
                        + " deploy/openapi.yaml).")
public final class ServeCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
            names = "--port",
            defaultValue = "8088",
            description = "Port; 0 picks a free one. Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description =
                    "Address to bind; 0.0.0.0 only inside a container or behind a proxy. Default:"
                            + " ${DEFAULT-VALUE}.")
    String host;

    @Option(
            names = "--bootstrap-servers",
            defaultValue = "127.0.0.1:9092",
            description = "Kafka of the running job. Default: ${DEFAULT-VALUE}.")
    String bootstrapServers;

    @Option(
            names = "--prompts-topic",
            defaultValue = "streamgpt-prompts",
            description = "The job's prompts topic. Default: ${DEFAULT-VALUE}.")
    String promptsTopic;

    @Option(
            names = "--answers-topic",
            defaultValue = "streamgpt-answers",
            description = "The job's answers topic. Default: ${DEFAULT-VALUE}.")
    String answersTopic;

    @Option(
            names = "--samples-topic",
            defaultValue = "streamgpt-samples",
            description = "The job's samples topic. Default: ${DEFAULT-VALUE}.")
    String samplesTopic;

    @Override
    public Integer call() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        try (HttpApi api =
                new HttpApi(
                        host,
                        port,
                        bootstrapServers,
                        promptsTopic,
                        answersTopic,
                        samplesTopic,
                        Duration.ofSeconds(10))) {
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
            PrintWriter out = spec.commandLine().getOut();
            out.printf(
                    "serving http://%s:%d (GET /samples, POST /generate, GET /healthz) for the job"
                            + " on %s; Ctrl-C stops%n",
                    host, api.port(), bootstrapServers);
            out.flush();
            stop.await();
        }
        return 0;
    }
}
