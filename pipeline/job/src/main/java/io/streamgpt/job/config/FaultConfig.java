package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.io.Serializable;
import java.util.List;

/**
 * Fault injection, a test and chaos hook.
 *
 * @param failAtStep replica 0 throws once on reaching this step (in the first attempt of a job not
 *     restored from state), so that recovery can be exercised; 0 never
 * @param nanAtStep replica {@code nanReplica} sets its parameters to NaN once on reaching this step
 *     (first attempt, never restored), so that the divergence guard can be exercised; 0 never
 * @param nanReplica the replica that {@code nanAtStep} poisons
 */
public record FaultConfig(long failAtStep, long nanAtStep, int nanReplica) implements Serializable {

    public static final Param<Long> FAIL_AT_STEP =
            Param.ofLong(
                            "fail-at-step",
                            "Chaos test hook: replica 0 throws once at this step, so Flink"
                                    + " restarts the job from its last checkpoint; 0 never.",
                            0L)
                    .atLeast(0);

    public static final Param<Long> NAN_AT_STEP =
            Param.ofLong(
                            "fault-nan-at-step",
                            "Chaos test hook: replica --fault-nan-replica sets its parameters to"
                                    + " NaN once at this step, for the divergence guard to reject;"
                                    + " 0 never.",
                            0L)
                    .atLeast(0);
    public static final Param<Integer> NAN_REPLICA =
            Param.ofInt("fault-nan-replica", "The replica --fault-nan-at-step poisons.", 0)
                    .atLeast(0);

    public static final List<Param<?>> PARAMS = List.of(FAIL_AT_STEP, NAN_AT_STEP, NAN_REPLICA);

    /** Only {@code failAtStep} set: what the tests of restarts use. */
    public FaultConfig(long failAtStep) {
        this(failAtStep, 0, 0);
    }

    public FaultConfig {
        Params.require("fault config", Params.errors(PARAMS, failAtStep, nanAtStep, nanReplica));
    }

    public static FaultConfig defaults() {
        return Params.defaults(FaultConfig.class, PARAMS);
    }

    public <T> FaultConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }

    /**
     * Whether replica {@code replica} must set its parameters to NaN now (step just taken, first
     * attempt, never restored).
     */
    public boolean poisonsAt(long step, int replica, int generation, int attempt) {
        return nanAtStep > 0
                && step == nanAtStep
                && replica == nanReplica
                && generation == 0
                && attempt == 0;
    }

    /**
     * Whether replica {@code replica} must fail now (step just taken, first attempt, never
     * restored). At or past the step, not only at it: a replica that adopts a round may jump past
     * it (its step becomes the round's), and the first attempt of generation 0 fails only once.
     */
    public boolean failsAt(long step, int replica, int generation, int attempt) {
        return failAtStep > 0
                && step >= failAtStep
                && replica == 0
                && generation == 0
                && attempt == 0;
    }
}
