package io.streamgpt.cli;

import io.streamgpt.job.config.JobConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Command lines that point a command at a test job's Kafka and topics. */
public final class JobArgs {

    private JobArgs() {}

    /**
     * {@code first} (a command and its options, or options), then the options of the command-line
     * tests' tiny model: 1 layer, 2 heads of 16, block 16, batch 8.
     */
    public static String[] tinyModel(String... first) {
        List<String> args = new ArrayList<>(List.of(first));
        args.addAll(
                List.of(
                        "--n-layer",
                        "1",
                        "--n-head",
                        "2",
                        "--n-embd",
                        "32",
                        "--block-size",
                        "16",
                        "--batch-size",
                        "8"));
        return args.toArray(String[]::new);
    }

    /**
     * {@code export} of the job's newest model to {@code out}, with no model options, its lineage
     * from the job's losses topic.
     */
    public static List<String> export(JobConfig config, Path out) {
        return new ArrayList<>(
                List.of(
                        "export",
                        "--out",
                        out.toString(),
                        "--bootstrap-servers",
                        config.kafka().bootstrapServers(),
                        "--model-topic",
                        config.topics().model(),
                        "--model-secret",
                        config.topics().modelSecret(),
                        "--metadata-topic",
                        config.topics().metadata(),
                        "--losses-topic",
                        config.topics().losses()));
    }

    /** {@code generate} answered by the running job (waiting up to 30 s), then {@code more}. */
    public static List<String> generateLive(JobConfig config, String... more) {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "generate",
                                "--bootstrap-servers",
                                config.kafka().bootstrapServers(),
                                "--prompts-topic",
                                config.topics().prompts(),
                                "--answers-topic",
                                config.topics().answers(),
                                "--timeout",
                                "30"));
        args.addAll(List.of(more));
        return args;
    }
}
