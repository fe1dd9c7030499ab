package io.streamgpt.cli;

import io.streamgpt.job.JobConfig;
import io.streamgpt.job.Preflight;
import io.streamgpt.job.sync.OuterOptimizer;
import io.streamgpt.model.Vocabulary;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * The fields of {@link JobConfig} as options, shared by the commands that run the streaming job.
 */
public final class JobOptions {

    @Mixin public ModelOptions model;

    @Option(
            names = "--vocab",
            defaultValue = "shakespeare",
            description =
                    "Vocabulary, fixed for the job's life: shakespeare (65 characters), bytes (any"
                            + " UTF-8), or a corpus file. Default: ${DEFAULT-VALUE}.")
    String vocab;

    @Option(
            names = "--replicas",
            defaultValue = "2",
            description = "Data-parallel training replicas. Default: ${DEFAULT-VALUE}.")
    public int replicas;

    @Option(
            names = "--sync-every",
            defaultValue = "10",
            description =
                    "Local steps between parameter averaging rounds (K). Default:"
                            + " ${DEFAULT-VALUE}.")
    int syncEvery;

    @Option(
            names = "--sync-mode",
            defaultValue = "SYNC",
            description =
                    "SYNC: wait for each round's average; OVERLAP: keep training and merge it on"
                            + " arrival. Default: ${DEFAULT-VALUE}.")
    JobConfig.SyncMode syncMode;

    @Option(
            names = "--outer-optimizer",
            defaultValue = "AVERAGE",
            description =
                    "AVERAGE (plain parameter averaging) or NESTEROV (DiLoCo outer momentum)."
                            + " Default: ${DEFAULT-VALUE}.")
    OuterOptimizer outerOptimizer;

    @Option(
            names = "--outer-lr",
            defaultValue = "0.7",
            description = "DiLoCo outer learning rate. Default: ${DEFAULT-VALUE}.")
    double outerLr;

    @Option(
            names = "--outer-momentum",
            defaultValue = "0.9",
            description = "DiLoCo outer Nesterov momentum. Default: ${DEFAULT-VALUE}.")
    double outerMomentum;

    @Option(
            names = "--sync-timeout-ms",
            defaultValue = "10000",
            description =
                    "A round closes after this long without every replica, averaging what arrived."
                            + " Default: ${DEFAULT-VALUE}.")
    long syncTimeoutMs;

    @Option(
            names = "--chunk-size",
            defaultValue = "131072",
            description = "Parameters per model chunk (4 bytes each). Default: ${DEFAULT-VALUE}.")
    int chunkSize;

    @Option(
            names = "--averager-parallelism",
            defaultValue = "1",
            description = "Subtasks of the parameter averager. Default: ${DEFAULT-VALUE}.")
    int averagerParallelism;

    @Option(
            names = "--bootstrap-servers",
            defaultValue = "127.0.0.1:9092",
            description = "Kafka bootstrap servers. Default: ${DEFAULT-VALUE}.")
    public String bootstrapServers;

    @Option(
            names = "--preflight-timeout-ms",
            defaultValue = "5000",
            description =
                    "How long the checks before the job starts wait for Kafka to answer. Default:"
                            + " ${DEFAULT-VALUE}.")
    long preflightTimeoutMs;

    @Option(
            names = "--text-topics",
            split = ",",
            defaultValue = "text",
            description = "Text topics, comma-separated. Default: ${DEFAULT-VALUE}.")
    List<String> textTopics;

    @Option(
            names = "--text-topic-pattern",
            description = "A regular expression of text topics, instead of --text-topics.")
    String textTopicPattern;

    @Option(
            names = "--starting-offsets",
            defaultValue = "earliest",
            description =
                    "Where new text reading starts: earliest, committed, latest or"
                            + " timestamp:EPOCH_MS. Default: ${DEFAULT-VALUE}.")
    String startingOffsets;

    @Option(
            names = "--group-id",
            defaultValue = "streamgpt",
            description = "Kafka consumer group. Default: ${DEFAULT-VALUE}.")
    String groupId;

    @Option(
            names = "--model-topic",
            defaultValue = "streamgpt-model",
            description = "Topic of averaged model chunks. Default: ${DEFAULT-VALUE}.")
    String modelTopic;

    @Option(
            names = "--losses-topic",
            defaultValue = "streamgpt-losses",
            description = "Topic of loss records. Default: ${DEFAULT-VALUE}.")
    String lossesTopic;

    @Option(
            names = "--samples-topic",
            defaultValue = "streamgpt-samples",
            description = "Topic of generated samples. Default: ${DEFAULT-VALUE}.")
    String samplesTopic;

    @Option(
            names = "--prompts-topic",
            defaultValue = "streamgpt-prompts",
            description = "Topic of prompt requests. Default: ${DEFAULT-VALUE}.")
    String promptsTopic;

    @Option(
            names = "--answers-topic",
            defaultValue = "streamgpt-answers",
            description = "Topic of answers to prompts. Default: ${DEFAULT-VALUE}.")
    String answersTopic;

    @Option(
            names = "--dead-letter-topic",
            defaultValue = "streamgpt-dead-letters",
            description =
                    "Topic of bad input records' coordinates and reasons. Default:"
                            + " ${DEFAULT-VALUE}.")
    String deadLetterTopic;

    @Option(
            names = "--prompt-queue",
            defaultValue = "32",
            description =
                    "Prompt requests that may wait for the live model; more are answered \"queue"
                            + " full\". Default: ${DEFAULT-VALUE}.")
    int promptQueue;

    @Option(
            names = "--pacing",
            defaultValue = "CONTINUOUS",
            description =
                    "CONTINUOUS: train as fast as possible while data is buffered; PER_TOKENS: one"
                            + " step per --tokens-per-step new tokens. Default: ${DEFAULT-VALUE}.")
    JobConfig.Pacing pacing;

    @Option(
            names = "--tokens-per-step",
            defaultValue = "768",
            description = "New tokens per step with PER_TOKENS pacing. Default: ${DEFAULT-VALUE}.")
    int tokensPerStep;

    @Option(
            names = "--max-steps",
            defaultValue = "0",
            description =
                    "Steps per replica, then stop training; 0 trains forever. Default:"
                            + " ${DEFAULT-VALUE}.")
    long maxSteps;

    @Option(
            names = "--buffer-tokens",
            defaultValue = "2000000",
            description =
                    "Replay buffer of each replica, in tokens (tiny Shakespeare is 1.1M). Default:"
                            + " ${DEFAULT-VALUE}.")
    long bufferTokens;

    @Option(
            names = "--max-record-bytes",
            defaultValue = "1048576",
            description =
                    "Text records above this size are dead-lettered, not trained on. Default:"
                            + " ${DEFAULT-VALUE}.")
    int maxRecordBytes;

    @Option(
            names = "--stride",
            description =
                    "Tokens between window starts (default: block_size, consecutive windows share"
                            + " one token).")
    Integer stride;

    @Option(
            names = "--run-windows",
            defaultValue = "64",
            description =
                    "Consecutive windows sent to the same replica. Default: ${DEFAULT-VALUE}.")
    int runWindows;

    @Option(
            names = "--eval-interval",
            defaultValue = "100",
            description = "Steps between loss records. Default: ${DEFAULT-VALUE}.")
    int evalInterval;

    @Option(
            names = "--eval-iters",
            defaultValue = "20",
            description = "Held-out batches per validation loss. Default: ${DEFAULT-VALUE}.")
    int evalIters;

    @Option(
            names = "--sample-interval",
            defaultValue = "500",
            description = "Steps between samples. Default: ${DEFAULT-VALUE}.")
    int sampleInterval;

    @Option(
            names = "--sample-tokens",
            defaultValue = "200",
            description = "Tokens per sample. Default: ${DEFAULT-VALUE}.")
    int sampleTokens;

    @Option(
            names = "--checkpoint-interval-ms",
            defaultValue = "30000",
            description = "Checkpoint interval; 0 disables checkpoints. Default: ${DEFAULT-VALUE}.")
    long checkpointIntervalMs;

    @Option(
            names = "--state-backend",
            defaultValue = "hashmap",
            description = "hashmap or rocksdb. Default: ${DEFAULT-VALUE}.")
    String stateBackend;

    @Option(
            names = "--checkpoint-dir",
            defaultValue = "",
            description =
                    "Checkpoint storage URI, e.g. file:///var/streamgpt/checkpoints (default:"
                            + " none).")
    public String checkpointDir;

    @Option(
            names = "--threads-per-replica",
            defaultValue = "1",
            description = "libtorch threads of each replica. Default: ${DEFAULT-VALUE}.")
    int threadsPerReplica;

    @Option(
            names = "--fail-at-step",
            defaultValue = "0",
            description =
                    "Chaos test hook: replica 0 throws once at this step, so Flink restarts the job"
                            + " from its last checkpoint; 0 never. Default: ${DEFAULT-VALUE}.")
    long failAtStep;

    /**
     * The checks before the job starts: Kafka answers, an existing model topic suits the job (see
     * {@link Preflight}).
     */
    public void preflight(JobConfig config) {
        if (preflightTimeoutMs < 1) {
            throw new IllegalArgumentException(
                    "--preflight-timeout-ms must be >= 1, got " + preflightTimeoutMs);
        }
        Preflight.check(config, Duration.ofMillis(preflightTimeoutMs));
    }

    public Vocabulary vocabulary() throws IOException {
        return Vocabulary.named(vocab);
    }

    public JobConfig toConfig(Vocabulary vocabulary) {
        var gpt = model.toConfig(vocabulary.size());
        boolean pattern = textTopicPattern != null && !textTopicPattern.isBlank();
        return new JobConfig(
                gpt,
                vocab,
                replicas,
                syncEvery,
                syncMode,
                outerOptimizer,
                outerLr,
                outerMomentum,
                syncTimeoutMs,
                chunkSize,
                averagerParallelism,
                bootstrapServers,
                pattern ? List.of() : textTopics,
                textTopicPattern,
                startingOffsets,
                groupId,
                modelTopic,
                lossesTopic,
                samplesTopic,
                promptsTopic,
                answersTopic,
                deadLetterTopic,
                promptQueue,
                pacing,
                tokensPerStep,
                maxSteps,
                bufferTokens,
                maxRecordBytes,
                stride != null ? stride : gpt.blockSize(),
                runWindows,
                evalInterval,
                evalIters,
                sampleInterval,
                sampleTokens,
                checkpointIntervalMs,
                stateBackend,
                checkpointDir,
                threadsPerReplica,
                failAtStep);
    }
}
