package io.streamgpt.job;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelSecret;
import io.streamgpt.connectors.client.ModelMetadataTopic;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.records.TextRecord;
import io.streamgpt.connectors.records.TopicRecord;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.job.eval.Evaluator;
import io.streamgpt.job.eval.LineageReporter;
import io.streamgpt.job.eval.PrequentialReporter;
import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.job.input.WindowAssembler;
import io.streamgpt.job.replica.ReplicaRouter;
import io.streamgpt.job.replica.TrainingReplica;
import io.streamgpt.job.serve.PromptResponder;
import io.streamgpt.job.sync.ParameterAverager;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The streaming trainer, wired as its data-flow diagram:
 *
 * <pre>
 * Kafka text topics -> tokenize -> block_size+1 windows (train / held-out val)
 *   -> keyBy(replica) -> N training replicas
 *   -> every K steps: parameter chunks -> keyBy(chunk) -> parameter averager
 *   -> averaged chunks -> Kafka model topic -> broadcast back to the replicas (the feedback edge)
 *                                           \-> evaluator/sampler -> losses + samples topics
 *                                           \-> prompt responder (+ Kafka prompts topic) -> answers + dead-letter topics
 * </pre>
 *
 * Flink 2 has no DataStream iterations, so the loop from the averager back to the replicas goes
 * through the model topic; the same topic is what the prompt responder and export read. Each
 * operator gets only the sections of the {@link JobConfig} it uses. Two side outputs of the
 * replicas join the reports: their test-then-train scores (prequential records) and what they had
 * received per round (lineage records), one record per version each (docs/evaluation.md).
 */
public final class StreamingTrainerJob {

    /**
     * Max parallelism of the replicas, fixed so that replica keys map to the same subtasks after a
     * restore.
     */
    public static final int REPLICA_MAX_PARALLELISM = 128;

    /**
     * The network buffer timeout of the model loop's and the prompts' operators: 0 ships each
     * record at once. Their records are few and large (chunks) or wait for an answer (prompts), and
     * Flink's default 100 ms would sit in the sync loop three times per round. The input path
     * (text, windows, held-out, reports) keeps Flink's default: many small records, no one waiting.
     * A periodic flush everywhere (it was 2 ms) woke one OutputFlusher thread per output every 2
     * ms, 13,000 context switches a second beside the replicas' libtorch threads on 2 cores.
     */
    public static final long LOOP_BUFFER_TIMEOUT_MS = 0;

    private StreamingTrainerJob() {}

    /** Adds the job to {@code env}. */
    public static void build(StreamExecutionEnvironment env, JobConfig config) {
        wire(env, config);
    }

    /** The streams inside the loop, for tests that watch them. */
    public record Loop(
            DataStream<TokenWindow> trainWindows,
            DataStream<TokenWindow> heldOutWindows,
            DataStream<Contribution> contributions,
            DataStream<GlobalChunk> globalModel) {}

    public static Loop wire(StreamExecutionEnvironment env, JobConfig config) {
        KafkaClientSettings kafka = config.kafka().clientSettings();
        TopicsConfig topics = config.topics();
        Vocabulary vocabulary = config.vocabulary();
        LiveModelSpec liveModel =
                new LiveModelSpec(
                        config.model(),
                        vocabulary,
                        config.sync().chunkSize(),
                        config.replicas().threads(),
                        config.sync().fragments());

        // Kafka text topics -> tokenize -> windows, every tenth held out
        SingleOutputStreamOperator<TokenWindow> trainWindows =
                env.fromSource(
                                KafkaStreams.textSource(
                                        kafka,
                                        topics.text(),
                                        topics.textPattern(),
                                        topics.startingOffsets(),
                                        topics.groupId()),
                                WatermarkStrategy.noWatermarks(),
                                "text topics")
                        .uid("text-source")
                        .keyBy(TextRecord::source)
                        .process(
                                new WindowAssembler(
                                        vocabulary,
                                        config.model().blockSize(),
                                        config.stride(),
                                        config.input().maxRecordBytes(),
                                        topics.deadLetters()))
                        .name("tokenize + windows")
                        .uid("windows");
        DataStream<TokenWindow> heldOutWindows =
                trainWindows.getSideOutput(WindowAssembler.HELD_OUT);

        // the feedback edge: averaged chunks come back from the model topic
        DataStream<GlobalChunk> globalModel =
                env.fromSource(
                                KafkaStreams.modelSource(
                                        kafka,
                                        topics.model(),
                                        topics.modelSecret(),
                                        topics.modelGroupId()),
                                WatermarkStrategy.noWatermarks(),
                                "model topic")
                        .setParallelism(config.sync().modelSourceParallelism())
                        .setBufferTimeout(LOOP_BUFFER_TIMEOUT_MS)
                        .uid("model-source");

        // keyBy(replica) -> N training replicas, each adopting the broadcast global model
        SingleOutputStreamOperator<Contribution> contributions =
                trainWindows
                        .keyBy(
                                new ReplicaRouter(
                                        config.replicas().count(),
                                        REPLICA_MAX_PARALLELISM,
                                        config.input().runWindows()))
                        .connect(globalModel.broadcast(TrainingReplica.MODEL_TOPIC))
                        .process(
                                new TrainingReplica(
                                        config.model(),
                                        config.training(),
                                        config.replicas(),
                                        config.sync(),
                                        config.faults(),
                                        config.stride(),
                                        config.evaluation().prequentialEvery()))
                        .setParallelism(config.replicas().count())
                        .setMaxParallelism(REPLICA_MAX_PARALLELISM)
                        .setBufferTimeout(LOOP_BUFFER_TIMEOUT_MS)
                        .name("training replicas")
                        .uid("replicas");

        // parameter chunks -> keyBy(chunk) -> averager -> model topic
        contributions
                .keyBy(Contribution::chunk)
                .process(new ParameterAverager(config.sync(), config.replicas().count()))
                .setParallelism(config.sync().averagerParallelism())
                .setBufferTimeout(LOOP_BUFFER_TIMEOUT_MS)
                .name("parameter averager")
                .uid("averager")
                .sinkTo(KafkaStreams.modelSink(kafka, topics.model(), topics.modelSecret()))
                .name("model topic")
                .uid("model-sink");

        // evaluator/sampler -> losses + samples topics; bad input -> dead-letter topic, through the
        // same sink
        globalModel
                .connect(heldOutWindows)
                .process(new Evaluator(liveModel, config.training(), config.evaluation(), topics))
                .setParallelism(1)
                .name("evaluator + sampler")
                .uid("evaluator")
                .union(
                        trainWindows.getSideOutput(WindowAssembler.DEAD_LETTERS),
                        prequentialRecords(contributions, config),
                        lineageRecords(contributions, config))
                .sinkTo(KafkaStreams.topicRecordSink(kafka))
                .setParallelism(1)
                .name("reports topics")
                .uid("reports-sink");

        // prompts topic + the newest global model -> prompt responder -> answers + dead-letter
        // topics
        env.fromSource(
                        KafkaStreams.promptSource(kafka, topics.prompts(), topics.promptsGroupId()),
                        WatermarkStrategy.noWatermarks(),
                        "prompts topic")
                .setParallelism(1)
                .setBufferTimeout(LOOP_BUFFER_TIMEOUT_MS)
                .uid("prompts-source")
                .connect(globalModel)
                .keyBy(request -> 0, chunk -> 0) // one responder: keyed only for its timers
                .process(new PromptResponder(liveModel, config.serving(), topics))
                .setParallelism(1)
                .setBufferTimeout(LOOP_BUFFER_TIMEOUT_MS)
                .name("prompt responder")
                .uid("responder")
                .sinkTo(KafkaStreams.topicRecordSink(kafka))
                .setParallelism(1)
                .name("answers + dead-letter topics")
                .uid("answers-sink");
        return new Loop(trainWindows, heldOutWindows, contributions, globalModel);
    }

    /** The replicas' test-then-train scores, one prequential record per version. */
    private static DataStream<TopicRecord> prequentialRecords(
            SingleOutputStreamOperator<Contribution> replicas, JobConfig config) {
        return replicas.getSideOutput(TrainingReplica.PREQUENTIAL)
                .process(
                        new PrequentialReporter(
                                config.replicas().count(), config.topics().losses()))
                .setParallelism(1)
                .name("prequential loss")
                .uid("prequential");
    }

    /** What the replicas had received and trained per round, one lineage record per version. */
    private static DataStream<TopicRecord> lineageRecords(
            SingleOutputStreamOperator<Contribution> replicas, JobConfig config) {
        return replicas.getSideOutput(TrainingReplica.LINEAGE)
                .process(new LineageReporter(config.replicas().count(), config.topics().losses()))
                .setParallelism(1)
                .name("lineage")
                .uid("lineage");
    }

    /**
     * Consecutive failed checkpoints (a broker outage stalls the sinks' flush) before the job
     * restarts.
     */
    static final int TOLERABLE_FAILED_CHECKPOINTS = 10;

    /**
     * Checkpointing, state backend and restart settings of the job. A failure restarts the job from
     * its last checkpoint, for ever: after 1 s, doubling up to 10 s between attempts while they
     * keep failing (a broker down for minutes), back to 1 s after 10 minutes without failure.
     */
    public static Configuration configuration(JobConfig config) {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, config.checkpoints().stateBackend());
        if (config.checkpoints().hasDirectory()) {
            conf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, config.checkpoints().directory());
        }
        conf.set(
                CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        conf.set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER, TOLERABLE_FAILED_CHECKPOINTS);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        conf.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                Duration.ofSeconds(1));
        conf.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                Duration.ofSeconds(10));
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER, 2.0);
        conf.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
                Duration.ofMinutes(10));
        return conf;
    }

    /** Enables checkpointing on {@code env} as the config says. */
    public static void enableCheckpointing(StreamExecutionEnvironment env, JobConfig config) {
        long interval = config.checkpoints().intervalMs();
        if (interval > 0) {
            env.enableCheckpointing(interval, CheckpointingMode.EXACTLY_ONCE);
            env.getCheckpointConfig().setMinPauseBetweenCheckpoints(interval / 2);
        }
    }

    /**
     * Creates the topics the job uses where missing and returns the names of those it created: its
     * own topics with the settings they need (the model topic spreads chunks over at least
     * averager_parallelism and model_source_parallelism partitions and takes 4 MB messages), and
     * the text topics it is told to read, with one partition, so that the job can start before
     * their producers; then publishes the model's metadata ({@link JobModelMetadata}). Fails with
     * an {@link IllegalArgumentException} if an existing model topic cannot carry the job's chunks
     * (see {@link Preflight}) or carries another model. The model topic's key is created too where
     * it is a missing file ({@link ModelSecret#ensure}): {@code submit}, {@code local} and the
     * benchmarks all start here.
     */
    public static List<String> createTopics(JobConfig config) {
        ModelSecret.ensure(config.topics().modelSecret());
        TopicsConfig topics = config.topics();
        String maxMessage = String.valueOf(4 << 20);
        List<TopicAdmin.TopicSpec> specs =
                new ArrayList<>(
                        List.of(
                                new TopicAdmin.TopicSpec(
                                        topics.model(),
                                        Math.max(
                                                4,
                                                Math.max(
                                                        config.sync().averagerParallelism(),
                                                        config.sync().modelSourceParallelism())),
                                        Map.of(
                                                "max.message.bytes",
                                                maxMessage,
                                                "retention.ms",
                                                String.valueOf(6 * 3600_000L))),
                                new TopicAdmin.TopicSpec(topics.losses(), 1, Map.of()),
                                new TopicAdmin.TopicSpec(topics.samples(), 1, Map.of()),
                                new TopicAdmin.TopicSpec(topics.prompts(), 1, Map.of()),
                                new TopicAdmin.TopicSpec(topics.answers(), 1, Map.of()),
                                new TopicAdmin.TopicSpec(topics.deadLetters(), 1, Map.of()),
                                ModelMetadataTopic.spec(topics.metadata())));
        for (String text : topics.text()) {
            specs.add(new TopicAdmin.TopicSpec(text, 1, Map.of()));
        }
        List<String> created = TopicAdmin.ensureTopics(config.kafka().clientSettings(), specs);
        Preflight.checkModelTopic(config);
        JobModelMetadata.publish(config); // readers of the model topic rebuild the model from it
        return created;
    }
}
