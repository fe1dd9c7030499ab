package io.streamgpt.cli.serve;

import io.streamgpt.cli.KafkaOptions;
import io.streamgpt.cli.ParamOptions;
import io.streamgpt.job.config.TopicsConfig;

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
        modelTransformer = ServeCommand.Options.class,
        description =
                "Serve an HTTP API for web clients: GET /samples, POST /generate, GET /healthz (see"
                        + " deploy/openapi.yaml).")
public final class ServeCommand implements Callable<Integer> {

    /** The job's Kafka and the topics this command reads or writes. */
    public static final class Options extends KafkaOptions {
        public Options() {
            super(TopicsConfig.PROMPTS, TopicsConfig.ANSWERS, TopicsConfig.SAMPLES);
        }
    }

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

    @Override
    public Integer call() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        try (HttpApi api =
                new HttpApi(
                        host,
                        port,
                        KafkaOptions.settings(spec),
                        ParamOptions.value(spec, TopicsConfig.PROMPTS),
                        ParamOptions.value(spec, TopicsConfig.ANSWERS),
                        ParamOptions.value(spec, TopicsConfig.SAMPLES),
                        Duration.ofSeconds(10))) {
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
            PrintWriter out = spec.commandLine().getOut();
            out.printf(
                    "serving http://%s:%d (GET /samples, POST /generate, GET /healthz) for the job"
                            + " on %s; Ctrl-C stops%n",
                    host, api.port(), KafkaOptions.settings(spec));
            out.flush();
            stop.await();
        }
        return 0;
    }
}
