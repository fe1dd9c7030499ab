package io.streamgpt.job.replica;

import io.streamgpt.model.Gpt;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.Trainer;
import io.streamgpt.model.TrainingConfig;

/** The real step: the GPT's forward, backward and AdamW update ({@link Trainer}). */
final class TrainerStep implements ReplicaStep {

    private final Gpt model;
    private final Trainer trainer;

    TrainerStep(Gpt model, TrainingConfig training) {
        this.model = model;
        this.trainer = new Trainer(model, training);
    }

    @Override
    public long parameterCount() {
        return model.parameterCount();
    }

    @Override
    public float[] parameters() {
        return model.parameterValues();
    }

    @Override
    public void setParameters(float[] values) {
        model.setParameterValues(values);
    }

    @Override
    public float step(TokenCorpus.Batch batch) {
        return trainer.step(batch);
    }

    @Override
    public long optimizerSteps() {
        return trainer.optimizer().steps();
    }

    @Override
    public float[][] optimizerState() {
        return trainer.optimizer().state();
    }

    @Override
    public void restoreOptimizer(long steps, float[] firstMoment, float[] secondMoment) {
        trainer.optimizer().restore(steps, firstMoment, secondMoment);
    }

    @Override
    public void close() {
        trainer.close();
        model.close();
    }
}
