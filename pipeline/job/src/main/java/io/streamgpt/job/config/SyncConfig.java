package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.job.sync.OuterOptimizer;

import java.io.Serializable;
import java.util.List;

/**
 * How replicas synchronise: every {@code every} local steps each sends its parameters in chunks to
 * the parameter averager, whose average comes back through the model topic (local SGD; DiLoCo with
 * the Nesterov outer optimizer).
 *
 * @param every K: local steps between parameter averaging rounds
 * @param mode {@code SYNC}: pause until the round's average arrives; {@code OVERLAP}: keep training
 *     and merge the average on arrival, with one round in flight (a round due before the previous
 *     one came back waits for it)
 * @param outerOptimizer how the average becomes the next global model
 * @param outerLearningRate DiLoCo outer learning rate (NESTEROV only)
 * @param outerMomentum DiLoCo outer Nesterov momentum (NESTEROV only)
 * @param timeoutMs a round closes after this long even if some replica did not contribute
 * @param chunkSize parameters per model chunk on the model topic (4 bytes each)
 * @param averagerParallelism subtasks of the parameter averager (it is keyed by chunk)
 * @param modelSourceParallelism subtasks reading the model topic, each broadcasting the chunks of
 *     its partitions to every replica: the global model's fan-out split over that many readers
 * @param encoding how replicas send their parameters: {@code FP32} as they are, {@code BF16} or
 *     {@code INT8} as a compressed delta from the last global model with error feedback (the global
 *     model stays float32)
 * @param outlierFactor the divergence guard rejects a contribution this many times farther from the
 *     previous global model than the others' median ({@code DivergenceGuard}); 0 is off (non-finite
 *     contributions are always rejected)
 * @param fragments F, streamed fragments (Streaming DiLoCo): 1 sends the whole vector every K
 *     steps; F > 1 runs a round every K / F steps that carries one fragment of the chunks ({@code
 *     Fragments}), so each fragment is synchronised every K steps, staggered by K / F
 */
public record SyncConfig(
        int every,
        Mode mode,
        OuterOptimizer outerOptimizer,
        double outerLearningRate,
        double outerMomentum,
        long timeoutMs,
        int chunkSize,
        int averagerParallelism,
        int modelSourceParallelism,
        PayloadEncoding encoding,
        double outlierFactor,
        int fragments)
        implements Serializable {

    /** Whether a replica waits for each round's average. */
    public enum Mode {
        SYNC,
        OVERLAP
    }

    /** Kafka's default largest message is about 1 MB; chunks stay well under it. */
    public static final int MAX_CHUNK_SIZE = 200_000;

    public static final Param<Integer> EVERY =
            Param.ofInt("sync-every", "Local steps between parameter averaging rounds (K).", 10)
                    .atLeast(1);
    public static final Param<Mode> MODE =
            Param.ofEnum(
                    "sync-mode",
                    "SYNC: wait for each round's average; OVERLAP: keep training and merge it on"
                            + " arrival, one round in flight (the next waits if it is due first).",
                    Mode.class,
                    Mode.SYNC);
    public static final Param<OuterOptimizer> OUTER_OPTIMIZER =
            Param.ofEnum(
                    "outer-optimizer",
                    "AVERAGE (plain parameter averaging) or NESTEROV (DiLoCo outer momentum).",
                    OuterOptimizer.class,
                    OuterOptimizer.AVERAGE);
    public static final Param<Double> OUTER_LEARNING_RATE =
            Param.ofDouble("outer-lr", "DiLoCo outer learning rate.", 0.7)
                    .mustBe(lr -> lr > 0, "> 0");
    public static final Param<Double> OUTER_MOMENTUM =
            Param.ofDouble("outer-momentum", "DiLoCo outer Nesterov momentum.", 0.9)
                    .mustBe(m -> m >= 0 && m < 1, "in [0, 1)");
    public static final Param<Long> TIMEOUT_MS =
            Param.ofLong(
                            "sync-timeout-ms",
                            "A round closes after this long without every replica, averaging what"
                                    + " arrived.",
                            10_000L)
                    .atLeast(1);
    public static final Param<Integer> CHUNK_SIZE =
            Param.ofInt(
                            "chunk-size",
                            "Parameters per model chunk (4 bytes each; Kafka's 1 MB message"
                                    + " limit).",
                            131_072)
                    .between(1, MAX_CHUNK_SIZE);
    public static final Param<Integer> AVERAGER_PARALLELISM =
            Param.ofInt("averager-parallelism", "Subtasks of the parameter averager.", 1)
                    .atLeast(1);

    public static final Param<Integer> MODEL_SOURCE_PARALLELISM =
            Param.ofInt(
                            "model-source-parallelism",
                            "Subtasks reading the model topic, each broadcasting its partitions'"
                                    + " chunks to the replicas (the topic has at least"
                                    + " max(4, averager-parallelism, this) partitions).",
                            1)
                    .atLeast(1);

    public static final Param<PayloadEncoding> ENCODING =
            Param.ofEnum(
                    "sync-encoding",
                    "FP32: replicas send parameters; BF16 (2x fewer bytes) or INT8 (4x, one scale"
                            + " per chunk): the delta from the last global model, the rounding"
                            + " error carried to the next round.",
                    PayloadEncoding.class,
                    PayloadEncoding.FP32);

    public static final Param<Double> OUTLIER_FACTOR =
            Param.ofDouble(
                            "outlier-factor",
                            "Divergence guard: a replica's chunk this many times farther from the"
                                    + " previous global model than the other replicas' median is"
                                    + " not averaged in; 0 is off (NaN or infinite contributions"
                                    + " are always rejected).",
                            10.0)
                    .mustBe(f -> f == 0 || f > 1, "0 or > 1");

    public static final Param<Integer> FRAGMENTS =
            Param.ofInt(
                            "sync-fragments",
                            "Streamed fragments (F): 1 sends the whole model every sync-every"
                                + " steps; F > 1 sends one of F contiguous ranges of chunks every"
                                + " sync-every / F steps, round r fragment r mod F, and merges it"
                                + " on arrival (SYNC and OVERLAP wait only if the previous fragment"
                                + " is still out when the next is due). Must divide sync-every and"
                                + " not exceed the model's chunks. With a compressed sync-encoding"
                                + " a fragment's delta is from its own previous round.",
                            1)
                    .atLeast(1);

    public static final List<Param<?>> PARAMS =
            List.of(
                    EVERY,
                    MODE,
                    OUTER_OPTIMIZER,
                    OUTER_LEARNING_RATE,
                    OUTER_MOMENTUM,
                    TIMEOUT_MS,
                    CHUNK_SIZE,
                    AVERAGER_PARALLELISM,
                    MODEL_SOURCE_PARALLELISM,
                    ENCODING,
                    OUTLIER_FACTOR,
                    FRAGMENTS);

    public SyncConfig {
        Params.require(
                "sync config",
                Params.errors(
                        PARAMS,
                        every,
                        mode,
                        outerOptimizer,
                        outerLearningRate,
                        outerMomentum,
                        timeoutMs,
                        chunkSize,
                        averagerParallelism,
                        modelSourceParallelism,
                        encoding,
                        outlierFactor,
                        fragments));
        if (every % fragments != 0) {
            Params.require(
                    "sync config",
                    List.of(
                            "sync-fragments ("
                                    + fragments
                                    + ") must divide sync-every ("
                                    + every
                                    + ")"));
        }
    }

    /** Local steps between rounds: K / F (K without fragments). */
    public int stepsPerRound() {
        return every / fragments;
    }

    public static SyncConfig defaults() {
        return Params.defaults(SyncConfig.class, PARAMS);
    }

    public <T> SyncConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }

    /** Chunks of a flat parameter vector of {@code parameters} values. */
    public int chunkCount(long parameters) {
        return Slice.count(parameters, chunkSize);
    }
}
