package io.streamgpt.job;

import io.streamgpt.connectors.chunks.ParameterChunks;
import io.streamgpt.job.sync.OuterOptimizer;
import io.streamgpt.model.GptConfig;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Everything the streaming job needs to know, in one validated record. The command line fills it
 * (the job options of the command line); the job prints it at start.
 *
 * @param model shape and training knobs of the GPT, the vocabulary size included
 * @param vocabulary {@code shakespeare}, {@code bytes} or the path of a corpus file
 * @param replicas N data-parallel training replicas, one per subtask
 * @param syncEvery K: local steps between parameter averaging rounds
 * @param syncMode {@code SYNC}: pause until the round's average arrives; {@code OVERLAP}: keep
 *     training
 * @param outerOptimizer how the average becomes the next global model
 * @param outerLearningRate DiLoCo outer learning rate (NESTEROV only)
 * @param outerMomentum DiLoCo outer Nesterov momentum (NESTEROV only)
 * @param syncTimeoutMs a round closes after this long even if some replica did not contribute
 * @param chunkSize parameters per model chunk on the model topic (4 bytes each)
 * @param averagerParallelism subtasks of the parameter averager (it is keyed by chunk)
 * @param bootstrapServers Kafka bootstrap servers
 * @param textTopics text topics to train on (or empty with a pattern)
 * @param textTopicPattern regular expression of text topics, instead of a list
 * @param startingOffsets earliest, committed, latest or timestamp:EPOCH_MS
 * @param groupId Kafka consumer group of the text source
 * @param modelTopic topic of averaged model chunks (the feedback edge)
 * @param lossesTopic topic of loss records (JSON)
 * @param samplesTopic topic of generated samples (JSON)
 * @param promptsTopic topic of prompt requests (JSON) answered from the live model
 * @param answersTopic topic of the answers to prompt requests (JSON, keyed by request id)
 * @param deadLetterTopic topic of bad input: the offending record's coordinates and the reason
 *     (JSON)
 * @param promptQueue prompt requests that may wait for the live model; more are answered "queue
 *     full"
 * @param pacing {@code CONTINUOUS}: train as fast as possible while data is buffered; {@code
 *     PER_TOKENS}: one step per tokensPerStep new tokens
 * @param tokensPerStep newly arrived tokens per step in PER_TOKENS pacing
 * @param maxSteps stop training at this many steps per replica; 0 trains forever
 * @param bufferTokens capacity of each replica's replay buffer, in tokens
 * @param maxRecordBytes text records larger than this are not trained on but dead-lettered
 * @param stride tokens between window starts; block_size makes consecutive windows share one token
 * @param runWindows consecutive windows of a partition that go to the same replica
 * @param evalInterval steps between loss records
 * @param evalIters batches of held-out windows per validation loss
 * @param sampleInterval steps between generated samples
 * @param sampleTokens tokens per sample
 * @param checkpointIntervalMs checkpoint interval; 0 disables checkpointing
 * @param stateBackend hashmap or rocksdb
 * @param checkpointDir checkpoint storage URI; empty keeps checkpoints in the JobManager
 * @param threadsPerReplica libtorch intra-op threads of each replica
 * @param failAtStep a test and chaos hook: replica 0 throws once on reaching this step (in the
 *     first attempt of a job not restored from state), so that recovery can be exercised; 0 never
 */
public record JobConfig(
        GptConfig model,
        String vocabulary,
        int replicas,
        int syncEvery,
        SyncMode syncMode,
        OuterOptimizer outerOptimizer,
        double outerLearningRate,
        double outerMomentum,
        long syncTimeoutMs,
        int chunkSize,
        int averagerParallelism,
        String bootstrapServers,
        List<String> textTopics,
        String textTopicPattern,
        String startingOffsets,
        String groupId,
        String modelTopic,
        String lossesTopic,
        String samplesTopic,
        String promptsTopic,
        String answersTopic,
        String deadLetterTopic,
        int promptQueue,
        Pacing pacing,
        int tokensPerStep,
        long maxSteps,
        long bufferTokens,
        int maxRecordBytes,
        int stride,
        int runWindows,
        int evalInterval,
        int evalIters,
        int sampleInterval,
        int sampleTokens,
        long checkpointIntervalMs,
        String stateBackend,
        String checkpointDir,
        int threadsPerReplica,
        long failAtStep)
        implements Serializable {

    public enum SyncMode {
        SYNC,
        OVERLAP
    }

    public enum Pacing {
        CONTINUOUS,
        PER_TOKENS
    }

    /** Kafka's default largest message is about 1 MB; chunks stay well under it. */
    public static final int MAX_CHUNK_SIZE = 200_000;

    public JobConfig {
        textTopics = List.copyOf(textTopics == null ? List.of() : textTopics);
        List<String> errors = new ArrayList<>();
        if (replicas < 1) {
            errors.add("replicas must be >= 1, got " + replicas);
        }
        if (syncEvery < 1) {
            errors.add("sync_every must be >= 1, got " + syncEvery);
        }
        if (!(outerLearningRate > 0) || !(outerMomentum >= 0 && outerMomentum < 1)) {
            errors.add("outer_learning_rate must be > 0 and outer_momentum in [0, 1)");
        }
        if (syncTimeoutMs < 1) {
            errors.add("sync_timeout_ms must be >= 1, got " + syncTimeoutMs);
        }
        if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
            errors.add(
                    "chunk_size must be in [1, "
                            + MAX_CHUNK_SIZE
                            + "] (Kafka's 1 MB message limit), got "
                            + chunkSize);
        }
        if (averagerParallelism < 1) {
            errors.add("averager_parallelism must be >= 1, got " + averagerParallelism);
        }
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            errors.add("bootstrap_servers is required");
        }
        boolean pattern = textTopicPattern != null && !textTopicPattern.isBlank();
        if (textTopics.isEmpty() == !pattern) {
            errors.add("give either text topics or a text topic pattern, not both or neither");
        }
        if (!startingOffsets.matches("earliest|committed|latest|timestamp:\\d+")) {
            errors.add(
                    "starting_offsets must be earliest, committed, latest or timestamp:EPOCH_MS,"
                            + " got "
                            + startingOffsets);
        }
        if (textTopics.stream().anyMatch(t -> t == null || t.isBlank())) {
            errors.add("text topic names must not be blank, got " + textTopics);
        }
        List<String> jobTopics =
                java.util.Arrays.asList(
                        modelTopic,
                        lossesTopic,
                        samplesTopic,
                        promptsTopic,
                        answersTopic,
                        deadLetterTopic);
        if (jobTopics.stream().anyMatch(t -> t == null || t.isBlank())) {
            errors.add(
                    "model, losses, samples, prompts, answers and dead-letter topics are required");
        } else if (textTopics.stream().anyMatch(jobTopics::contains)) {
            errors.add(
                    "text topics must not be the job's own topics (model, losses, samples, prompts,"
                            + " answers, dead letters)");
        }
        if (promptQueue < 1) {
            errors.add("prompt_queue must be >= 1, got " + promptQueue);
        }
        if (pacing == Pacing.PER_TOKENS && tokensPerStep < 1) {
            errors.add("tokens_per_step must be >= 1 with per-tokens pacing, got " + tokensPerStep);
        }
        if (maxSteps < 0) {
            errors.add("max_steps must be >= 0 (0 trains forever), got " + maxSteps);
        }
        if (model != null && bufferTokens <= model.blockSize()) {
            errors.add("buffer_tokens must exceed block_size, got " + bufferTokens);
        }
        if (maxRecordBytes < 1) {
            errors.add("max_record_bytes must be >= 1, got " + maxRecordBytes);
        }
        if (model != null && (stride < 1 || stride > model.blockSize() + 1)) {
            errors.add("stride must be in [1, block_size + 1], got " + stride);
        }
        if (runWindows < 1
                || evalInterval < 1
                || evalIters < 1
                || sampleInterval < 1
                || sampleTokens < 0) {
            errors.add(
                    "run_windows, eval_interval, eval_iters and sample_interval must be >= 1,"
                            + " sample_tokens >= 0");
        }
        if (checkpointIntervalMs < 0) {
            errors.add("checkpoint_interval_ms must be >= 0, got " + checkpointIntervalMs);
        }
        if (!"hashmap".equals(stateBackend) && !"rocksdb".equals(stateBackend)) {
            errors.add("state_backend must be hashmap or rocksdb, got " + stateBackend);
        }
        if (threadsPerReplica < 1) {
            errors.add("threads_per_replica must be >= 1, got " + threadsPerReplica);
        }
        if (failAtStep < 0) {
            errors.add("fail_at_step must be >= 0 (0 never fails), got " + failAtStep);
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid job config: " + String.join("; ", errors));
        }
    }

    /** Chunks of the model's flat parameter vector. */
    public int chunkCount(long parameters) {
        return ParameterChunks.count(parameters, chunkSize);
    }

    /** One line per field, for the log at start. */
    public String describe() {
        StringBuilder out = new StringBuilder("streamgpt job config:\n");
        for (var component : JobConfig.class.getRecordComponents()) {
            try {
                out.append(
                        String.format(
                                Locale.ROOT,
                                "  %-22s %s%n",
                                component.getName(),
                                component.getAccessor().invoke(this)));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return out.toString();
    }
}
