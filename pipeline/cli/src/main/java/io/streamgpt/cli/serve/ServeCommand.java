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
import java.util.concurrent.TimeUnit;

/** Serves the HTTP API ({@link HttpApi}) until interrupted. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        modelTransformer = ServeCommand.Options.class,
        description =
                "Serve an HTTP API for web clients and the web console: POST /v1/completions and"
                        + " GET /v1/models (OpenAI-compatible, streaming), GET /samples, GET"
                        + " /losses, POST /generate, GET /healthz, the console at / (see"
                        + " deploy/openapi.yaml, served at /openapi.yaml).")
public final class ServeCommand implements Callable<Integer> {

    /** The job's Kafka and the topics this command reads or writes. */
    public static final class Options extends KafkaOptions {
        public Options() {
            super(
                    TopicsConfig.PROMPTS,
                    TopicsConfig.ANSWERS,
                    TopicsConfig.SAMPLES,
                    TopicsConfig.LOSSES);
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

    @Option(
            names = "--max-concurrent",
            defaultValue = "" + HttpApi.Limits.DEFAULT_MAX_CONCURRENT,
            description =
                    "Model requests (completions, generate) in flight at once; more are answered"
                            + " 429 with Retry-After. Default: ${DEFAULT-VALUE}.")
    int maxConcurrent;

    @Option(
            names = "--idle-timeout",
            defaultValue = "30",
            description =
                    "Seconds a connection may send nothing (e.g. half a request) before it is"
                            + " closed. Default: ${DEFAULT-VALUE}.")
    int idleTimeoutSeconds;

    @Option(
            names = "--no-access-log",
            description = "Do not print a line per request to standard error.")
    boolean noAccessLog;

    @Override
    public Integer call() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch drained = new CountDownLatch(1);
        if (maxConcurrent < 1 || idleTimeoutSeconds < 1) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(), "--max-concurrent and --idle-timeout must be at least 1");
        }
        HttpApi.Settings settings =
                HttpApi.Settings.on(
                                host,
                                port,
                                KafkaOptions.settings(spec),
                                new HttpApi.Topics(
                                        ParamOptions.value(spec, TopicsConfig.PROMPTS),
                                        ParamOptions.value(spec, TopicsConfig.ANSWERS),
                                        ParamOptions.value(spec, TopicsConfig.SAMPLES),
                                        ParamOptions.value(spec, TopicsConfig.LOSSES)))
                        .withLimits(
                                HttpApi.Limits.DEFAULT.withRequests(
                                        maxConcurrent, Duration.ofSeconds(idleTimeoutSeconds)))
                        .withAccessLog(noAccessLog ? null : spec.commandLine().getErr());
        try (HttpApi api = new HttpApi(settings)) {
            // Ctrl-C: the JVM waits in the hook while close() drains the requests in flight
            Runtime.getRuntime()
                    .addShutdownHook(
                            new Thread(
                                    () -> {
                                        stop.countDown();
                                        try {
                                            drained.await(30, TimeUnit.SECONDS);
                                        } catch (InterruptedException e) {
                                            Thread.currentThread().interrupt();
                                        }
                                    }));
            PrintWriter out = spec.commandLine().getOut();
            out.printf(
                    "serving http://%s:%d (web console at /, POST /v1/completions, GET /v1/models,"
                        + " GET /samples, GET /losses, POST /generate, GET /healthz) for the job on"
                        + " %s; Ctrl-C stops%n",
                    host, api.port(), KafkaOptions.settings(spec));
            out.flush();
            stop.await();
        } finally {
            drained.countDown();
        }
        return 0;
    }
}
