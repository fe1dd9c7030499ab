package io.streamgpt.job.replica;

import io.streamgpt.job.config.ReplicaConfig;

/**
 * When a replica may step: CONTINUOUS trains as fast as it can while it has text; PER_TOKENS takes
 * one step per {@code tokens_per_step} newly arrived tokens, so training keeps pace with the stream
 * rather than running ahead of it.
 */
final class StepPacer {

    private final ReplicaConfig.Pacing pacing;
    private final int tokensPerStep;
    private long untrained; // arrived tokens not yet paid for by a step

    StepPacer(ReplicaConfig replicas) {
        this.pacing = replicas.pacing();
        this.tokensPerStep = replicas.tokensPerStep();
    }

    /** New tokens arrived (a window's stride). */
    void arrived(long tokens) {
        untrained += tokens;
    }

    /** Whether a step may run now. */
    boolean ready() {
        return pacing == ReplicaConfig.Pacing.CONTINUOUS || untrained >= tokensPerStep;
    }

    /** A step ran. */
    void stepped() {
        if (pacing == ReplicaConfig.Pacing.PER_TOKENS) {
            untrained -= tokensPerStep;
        }
    }
}
