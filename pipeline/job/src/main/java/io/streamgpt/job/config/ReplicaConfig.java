package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;
import io.streamgpt.model.TrainingConfig;

import java.io.Serializable;
import java.util.List;

/**
 * The training replicas: how many, how fast each trains and on how much remembered text.
 *
 * @param count N data-parallel training replicas, one per subtask
 * @param threads libtorch intra-op threads of each replica
 * @param pacing {@code CONTINUOUS}: train as fast as possible while data is buffered; {@code
 *     PER_TOKENS}: one step per {@code tokensPerStep} new tokens
 * @param tokensPerStep newly arrived tokens per step with {@code PER_TOKENS} pacing
 * @param maxSteps stop training at this many steps per replica; 0 trains forever
 * @param bufferTokens capacity of each replica's replay buffer, in tokens
 * @param simulatedStepMs a benchmark hook: when above 0, each step sleeps this long and moves the
 *     parameters by a known amount instead of training (see {@code SimulatedStep}); 0 trains
 * @param replayPolicy how a replica draws batch windows from its replay buffer: {@code UNIFORM}
 *     over all of it, or {@code RECENT}, with a weight halving every {@code replayHalfLifeTokens}
 *     of age (see {@code ReplayBuffer})
 * @param replayHalfLifeTokens with {@code RECENT}: the age, in buffered tokens, at which a window's
 *     weight is half the newest's
 * @param learningRateScaling how each replica's peak learning rate follows the replica count N:
 *     {@code NONE} keeps {@code --learning-rate}; {@code SQRT} multiplies it by sqrt(N) (see {@link
 *     LearningRateScaling})
 */
public record ReplicaConfig(
        int count,
        int threads,
        Pacing pacing,
        int tokensPerStep,
        long maxSteps,
        long bufferTokens,
        long simulatedStepMs,
        ReplayPolicy replayPolicy,
        long replayHalfLifeTokens,
        LearningRateScaling learningRateScaling)
        implements Serializable {

    /** When a replica steps. */
    public enum Pacing {
        CONTINUOUS,
        PER_TOKENS
    }

    /**
     * How N replicas' learning rate follows N. Averaging N replicas every K steps makes each
     * averaged step one of N times the batch; the square-root scaling rule for Adam (Malladi et
     * al., 2022, "On the SDEs and Scaling Rules for Adaptive Gradient Algorithms"; Granziol et al.
     * 2022) raises the rate by sqrt(N) for an N times larger batch:
     *
     * <pre>
     *   lr_replica = lr x sqrt(N)      (SQRT; the warm-up and decay schedule and its floor alike)
     * </pre>
     */
    public enum LearningRateScaling {
        NONE,
        SQRT;

        /** The factor on the learning rate of each of {@code replicas} replicas. */
        public double factor(int replicas) {
            return this == SQRT ? Math.sqrt(replicas) : 1.0;
        }
    }

    /** Which buffered windows a replica trains on. */
    public enum ReplayPolicy {
        UNIFORM,
        RECENT
    }

    public static final Param<Integer> COUNT =
            Param.ofInt("replicas", "Data-parallel training replicas.", 2).atLeast(1);
    public static final Param<Integer> THREADS =
            Param.ofInt("threads-per-replica", "libtorch threads of each replica.", 1).atLeast(1);
    public static final Param<Pacing> PACING =
            Param.ofEnum(
                    "pacing",
                    "CONTINUOUS: train as fast as possible while data is buffered; PER_TOKENS: one"
                            + " step per --tokens-per-step new tokens.",
                    Pacing.class,
                    Pacing.CONTINUOUS);
    public static final Param<Integer> TOKENS_PER_STEP =
            Param.ofInt("tokens-per-step", "New tokens per step with PER_TOKENS pacing.", 768)
                    .atLeast(1);
    public static final Param<Long> MAX_STEPS =
            Param.ofLong(
                            "max-steps",
                            "Steps per replica, then stop training; 0 trains forever.",
                            0L)
                    .atLeast(0);
    public static final Param<Long> BUFFER_TOKENS =
            Param.ofLong(
                            "buffer-tokens",
                            "Replay buffer of each replica, in tokens (tiny Shakespeare is 1.1M).",
                            2_000_000L)
                    .atLeast(2);

    public static final Param<Long> SIMULATED_STEP_MS =
            Param.ofLong(
                            "simulated-step-ms",
                            "Benchmark hook: each step sleeps this long and shifts the parameters"
                                    + " by a known amount instead of training; 0 trains.",
                            0L)
                    .atLeast(0);

    public static final Param<ReplayPolicy> REPLAY_POLICY =
            Param.ofEnum(
                    "replay-policy",
                    "UNIFORM: batch windows start anywhere in the replay buffer with equal"
                            + " probability; RECENT: with a probability halving every"
                            + " --replay-half-life-tokens of age, favouring the newest text.",
                    ReplayPolicy.class,
                    ReplayPolicy.UNIFORM);
    public static final Param<Long> REPLAY_HALF_LIFE_TOKENS =
            Param.ofLong(
                            "replay-half-life-tokens",
                            "With --replay-policy RECENT: the age, in buffered tokens, at which a"
                                    + " window is drawn half as often as the newest.",
                            100_000L)
                    .atLeast(1);

    public static final Param<LearningRateScaling> LEARNING_RATE_SCALING =
            Param.ofEnum(
                    "learning-rate-scaling",
                    "How each replica's learning rate follows --replicas N: NONE keeps"
                            + " --learning-rate, SQRT multiplies it (and --min-learning-rate) by"
                            + " sqrt(N), for the N times larger batch of an averaged step"
                            + " (docs/scaling.md).",
                    LearningRateScaling.class,
                    LearningRateScaling.SQRT);

    public static final List<Param<?>> PARAMS =
            List.of(
                    COUNT,
                    THREADS,
                    PACING,
                    TOKENS_PER_STEP,
                    MAX_STEPS,
                    BUFFER_TOKENS,
                    SIMULATED_STEP_MS,
                    REPLAY_POLICY,
                    REPLAY_HALF_LIFE_TOKENS,
                    LEARNING_RATE_SCALING);

    public ReplicaConfig {
        Params.require(
                "replica config",
                Params.errors(
                        PARAMS,
                        count,
                        threads,
                        pacing,
                        tokensPerStep,
                        maxSteps,
                        bufferTokens,
                        simulatedStepMs,
                        replayPolicy,
                        replayHalfLifeTokens,
                        learningRateScaling));
    }

    public static ReplicaConfig defaults() {
        return Params.defaults(ReplicaConfig.class, PARAMS);
    }

    public <T> ReplicaConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }

    /** What each replica trains with: {@code training} with its learning rates scaled for N. */
    public TrainingConfig replicaTraining(TrainingConfig training) {
        double factor = learningRateScaling.factor(count);
        if (factor == 1.0) {
            return training;
        }
        return training.with(TrainingConfig.LEARNING_RATE, training.learningRate() * factor)
                .with(TrainingConfig.MIN_LEARNING_RATE, training.minLearningRate() * factor);
    }
}
