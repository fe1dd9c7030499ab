package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

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
        long replayHalfLifeTokens)
        implements Serializable {

    /** When a replica steps. */
    public enum Pacing {
        CONTINUOUS,
        PER_TOKENS
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
                    REPLAY_HALF_LIFE_TOKENS);

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
                        replayHalfLifeTokens));
    }

    public static ReplicaConfig defaults() {
        return Params.defaults(ReplicaConfig.class, PARAMS);
    }

    public <T> ReplicaConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }
}
