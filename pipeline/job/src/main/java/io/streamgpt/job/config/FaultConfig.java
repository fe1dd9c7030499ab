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
 */
public record FaultConfig(long failAtStep) implements Serializable {

    public static final Param<Long> FAIL_AT_STEP =
            Param.ofLong(
                            "fail-at-step",
                            "Chaos test hook: replica 0 throws once at this step, so Flink"
                                    + " restarts the job from its last checkpoint; 0 never.",
                            0L)
                    .atLeast(0);

    public static final List<Param<?>> PARAMS = List.of(FAIL_AT_STEP);

    public FaultConfig {
        Params.require("fault config", Params.errors(PARAMS, failAtStep));
    }

    public static FaultConfig defaults() {
        return Params.defaults(FaultConfig.class, PARAMS);
    }

    /**
     * Whether replica {@code replica} must fail now (step just taken, first attempt, never
     * restored).
     */
    public boolean failsAt(long step, int replica, int generation, int attempt) {
        return failAtStep > 0
                && step == failAtStep
                && replica == 0
                && generation == 0
                && attempt == 0;
    }
}
