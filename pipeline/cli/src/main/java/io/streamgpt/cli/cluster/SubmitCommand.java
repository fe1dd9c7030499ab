package io.streamgpt.cli.cluster;

import io.streamgpt.cli.JobOptions;
import io.streamgpt.cli.Paths;
import io.streamgpt.cli.PreflightOption;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.job.JobMain;
import io.streamgpt.job.StreamingTrainerJob;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * Submits the streaming trainer to a Flink session cluster: checks the options and Kafka, creates
 * the job's topics, uploads the job jar through the REST API and runs it with the same options.
 */
@Command(
        name = "submit",
        mixinStandardHelpOptions = true,
        modelTransformer = JobOptions.class,
        description = "Submit the streaming trainer to a Flink cluster (default: the local stack).")
public final class SubmitCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Mixin PreflightOption preflight;

    @Option(
            names = "--flink",
            defaultValue = "http://127.0.0.1:8081",
            description = "Flink REST API. Default: ${DEFAULT-VALUE}.")
    String flink;

    @Option(
            names = "--jar",
            description =
                    "The job jar (default: pipeline/job/target/streamgpt-job-*-job.jar of this"
                            + " checkout).")
    Path jar;

    @Option(
            names = "--from-savepoint",
            description = "Resume from this savepoint (a path or URI the cluster can read).")
    String fromSavepoint;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        JobConfig given =
                JobOptions.config(spec); // every option checked before anything is touched
        // the vocabulary travels by content: a --vocab FILE is read here, where the file is, not
        // on the JobManager
        String vocabulary = given.vocabulary().spec();
        JobConfig config = given.withInput(i -> i.with(InputConfig.VOCABULARY, vocabulary));
        refuseInlineSecrets(config);
        Path jobJar = jar != null ? jar : defaultJar();
        preflight.check(config); // Kafka answers and suits the job: one line, exit 2 otherwise
        FlinkRest rest = new FlinkRest(flink);
        requireCheckpointStorage(config, rest);
        StreamingTrainerJob.createTopics(config);
        String jarId = rest.uploadJar(jobJar);
        String jobId;
        try {
            jobId =
                    rest.runJar(
                            jarId,
                            JobMain.class.getName(),
                            config.toArguments(),
                            config.replicas().count(),
                            fromSavepoint == null ? null : uri(fromSavepoint));
        } finally {
            rest.deleteJar(jarId);
        }
        out.println(
                "job "
                        + jobId
                        + " submitted"
                        + (fromSavepoint != null ? " from savepoint " + fromSavepoint : ""));
        out.println("web UI: " + rest.jobPage(jobId));
        out.flush();
        return 0;
    }

    /**
     * Job arguments show on the cluster (the JobManager's log, the web UI's submit page): a secret
     * given inline with --kafka-property must not travel there.
     */
    static void refuseInlineSecrets(JobConfig config) {
        var secrets = KafkaClientSettings.inlineSecrets(config.kafka().properties());
        if (!secrets.isEmpty()) {
            throw new IllegalArgumentException(
                    "--kafka-property "
                            + String.join(", ", secrets)
                            + " holds a secret, which would travel in the job's arguments: put it"
                            + " in the --kafka-config file (read on the cluster), or give a"
                            + " config-provider placeholder such as ${env::KAFKA_PASSWORD} (see"
                            + " docs/security.md)");
        }
    }

    /**
     * Checkpoints need a directory, the job's or the cluster's: without one they go to the
     * JobManager, which takes at most 5 MB per state, less than one replica's, and every checkpoint
     * would fail.
     */
    private static void requireCheckpointStorage(JobConfig config, FlinkRest rest)
            throws java.io.IOException {
        if (config.checkpoints().intervalMs() == 0 || !config.checkpoints().directory().isBlank()) {
            return;
        }
        var cluster = rest.clusterConfig();
        if (!cluster.containsKey("execution.checkpointing.dir")
                && !cluster.containsKey("state.checkpoints.dir")) {
            throw new IllegalArgumentException(
                    "the cluster at "
                            + rest.url()
                            + " has no checkpoint directory (execution.checkpointing.dir): pass"
                            + " --checkpoint-dir URI, or --checkpoint-interval-ms 0");
        }
    }

    /**
     * A URI as it is ({@code file:/...}, {@code s3://...}), a local path as its absolute file URI.
     */
    static String uri(String pathOrUri) {
        return pathOrUri.matches("[a-zA-Z][a-zA-Z0-9+.-]+:.*")
                ? pathOrUri
                : Path.of(pathOrUri).toAbsolutePath().toUri().toString();
    }

    private static Path defaultJar() throws java.io.IOException {
        Path target = Paths.home().resolve("pipeline").resolve("job").resolve("target");
        try (var files = Files.list(target)) {
            return files.filter(
                            f -> f.getFileName().toString().matches("streamgpt-job-.*-job\\.jar"))
                    .findFirst()
                    .orElseThrow(
                            () ->
                                    new IllegalArgumentException(
                                            "no job jar in "
                                                    + target
                                                    + ": build it (`mvn -DskipTests package`, which"
                                                    + " ./streamgpt runs) or pass --jar"));
        }
    }
}
