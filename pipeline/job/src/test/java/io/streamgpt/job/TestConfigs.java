package io.streamgpt.job;

import io.streamgpt.connectors.chunks.ModelSecret;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.job.sync.OuterOptimizer;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.TrainingConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small job configs for tests: a tiny model that trains in milliseconds per step. */
public final class TestConfigs {

    /** 65 characters, block 16, one layer of 2 heads, 32 wide, no dropout: 11,201 parameters... */
    public static final GptConfig TINY_MODEL = new GptConfig(65, 16, 1, 2, 32, 0.0);

    /** Batches of 8 at lr 3e-3, seed 7. */
    public static final TrainingConfig TINY_TRAINING =
            TrainingConfig.preset("cpu")
                    .with(TrainingConfig.BATCH_SIZE, 8)
                    .with(TrainingConfig.LEARNING_RATE, 3e-3)
                    .with(TrainingConfig.SEED, 7L);

    /**
     * The model loop's key of every test job in this JVM: a fresh file under the temporary
     * directory, deleted at exit.
     */
    public static final String MODEL_SECRET = testSecret();

    private TestConfigs() {}

    private static String testSecret() {
        try {
            Path dir = Files.createTempDirectory("streamgpt-test-secret");
            Path file = dir.resolve("model-secret");
            dir.toFile().deleteOnExit(); // deleted after the file: reverse order of registration
            file.toFile().deleteOnExit();
            ModelSecret.ensure("file:" + file);
            return "file:" + file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The tiny model's job on its own {@code prefix-} topics of the broker at {@code bootstrap}:
     * chunks of 1000 parameters, buffers of 200,000 tokens, a loss record every 20 steps from 4
     * batches, a 20-token sample every 50 steps, no checkpoints.
     */
    public static JobConfig tiny(String bootstrap, String prefix) {
        return JobConfig.defaults()
                .withKafka(k -> k.with(KafkaConfig.BOOTSTRAP_SERVERS, bootstrap))
                .withTopics(
                        t ->
                                TopicsConfig.prefixed(prefix)
                                        .with(TopicsConfig.MODEL_SECRET, MODEL_SECRET))
                .withModel(m -> TINY_MODEL)
                .withTraining(t -> TINY_TRAINING)
                .withReplicas(r -> r.with(ReplicaConfig.BUFFER_TOKENS, 200_000L))
                .withSync(s -> s.with(SyncConfig.CHUNK_SIZE, 1000))
                .withEvaluation(
                        e ->
                                e.with(EvaluationConfig.INTERVAL, 20)
                                        .with(EvaluationConfig.ITERS, 4)
                                        .with(EvaluationConfig.SAMPLE_INTERVAL, 50)
                                        .with(EvaluationConfig.SAMPLE_TOKENS, 20))
                .withCheckpoints(c -> c.with(CheckpointConfig.INTERVAL_MS, 0L));
    }

    /**
     * {@link #tiny(String, String)} with {@code replicas} replicas that sync every {@code every}
     * steps (a round waits up to 30 s for its contributions) on runs of 8 windows: the job of the
     * end-to-end tests.
     */
    public static JobConfig synced(String bootstrap, String prefix, int replicas, int every) {
        return tiny(bootstrap, prefix)
                .withReplicas(r -> r.with(ReplicaConfig.COUNT, replicas))
                .withSync(s -> s.with(SyncConfig.EVERY, every).with(SyncConfig.TIMEOUT_MS, 30_000L))
                .withInput(i -> i.with(InputConfig.RUN_WINDOWS, 8));
    }

    /**
     * As {@link #tiny(String, String)}, its clients made from {@code kafka} (a secured broker's).
     */
    public static JobConfig tiny(KafkaClientSettings kafka, String prefix) {
        return tiny(kafka.bootstrapServers(), prefix).withKafka(k -> KafkaConfig.of(kafka));
    }

    /**
     * The cpu preset's job with the given averager parallelism and chunk size, for topic checks.
     */
    public static JobConfig topics(
            String bootstrap, String prefix, int averagerParallelism, int chunkSize) {
        return JobConfig.defaults()
                .withKafka(k -> k.with(KafkaConfig.BOOTSTRAP_SERVERS, bootstrap))
                .withTopics(
                        t ->
                                TopicsConfig.prefixed(prefix)
                                        .with(TopicsConfig.MODEL_SECRET, MODEL_SECRET))
                .withSync(
                        s ->
                                s.with(SyncConfig.AVERAGER_PARALLELISM, averagerParallelism)
                                        .with(SyncConfig.CHUNK_SIZE, chunkSize))
                .withCheckpoints(c -> c.with(CheckpointConfig.INTERVAL_MS, 0L));
    }

    /** What a parameter averager of {@code replicas} replicas needs, at K = 1. */
    public static JobConfig averagerOnly(int replicas, OuterOptimizer outer, long syncTimeoutMs) {
        return tiny("127.0.0.1:1", "unit")
                .withReplicas(r -> r.with(ReplicaConfig.COUNT, replicas))
                .withSync(
                        s ->
                                s.with(SyncConfig.EVERY, 1)
                                        .with(SyncConfig.OUTER_OPTIMIZER, outer)
                                        .with(SyncConfig.TIMEOUT_MS, syncTimeoutMs));
    }
}
