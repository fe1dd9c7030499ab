package io.streamgpt.job.replica;

import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TrainingConfig;

/**
 * What a training replica steps: its flat parameter vector, one optimizer step on a batch, and the
 * optimizer state a checkpoint keeps. {@link TrainerStep} is the real model and AdamW; {@link
 * SimulatedStep} sleeps for a configured time and moves the parameters by a known amount, so that
 * the synchronisation path can be measured at accelerator step times on a CPU (the {@code bench
 * sync} command) with averages that stay checkable. The replica operator sees only this interface.
 */
interface ReplicaStep extends AutoCloseable {

    /** The real model, or the simulated step when {@code replicas.simulatedStepMs() > 0}. */
    static ReplicaStep create(
            GptConfig shape,
            TrainingConfig training,
            ReplicaConfig replicas,
            ModelHost host,
            int replica) {
        if (replicas.simulatedStepMs() > 0) {
            return SimulatedStep.of(shape, training, host, replica, replicas.simulatedStepMs());
        }
        return new TrainerStep(
                host.create(shape, training.seed()), replicas.replicaTraining(training));
    }

    long parameterCount();

    /** A copy of the parameters now (the caller may keep it). */
    float[] parameters();

    /** Overwrites the parameters; the step does not modify {@code values} afterwards. */
    void setParameters(float[] values);

    /** One optimizer step on {@code batch}; its training loss. */
    float step(TokenCorpus.Batch batch);

    long optimizerSteps();

    /** The optimizer's first and second moments (empty for a step without them). */
    float[][] optimizerState();

    void restoreOptimizer(long steps, float[] firstMoment, float[] secondMoment);

    @Override
    void close();
}
