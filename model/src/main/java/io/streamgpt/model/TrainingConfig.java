package io.streamgpt.model;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.io.Serializable;
import java.util.List;

/**
 * How a {@link Gpt} is trained: batches, AdamW and its learning-rate schedule, and the seed.
 *
 * <p>The defaults are the reference's: {@code torch.optim.AdamW} with betas (0.9, 0.999), eps 1e-8
 * and weight decay 0.01, no gradient clipping and a constant learning rate. Warm-up and cosine
 * decay are available but off. Batch size and learning rate come from the {@link ModelPreset}.
 *
 * @param batchSize sequences per training step
 * @param learningRate peak AdamW learning rate
 * @param weightDecay decoupled (AdamW) weight decay, applied to every parameter as torch does
 * @param beta1 AdamW first-moment decay
 * @param beta2 AdamW second-moment decay
 * @param gradClip clip the global gradient L2 norm to this value; 0 disables clipping
 * @param warmupSteps linear warm-up steps from 0 to learningRate; 0 disables warm-up
 * @param decaySteps cosine decay from learningRate to minLearningRate ends at this step; 0 keeps
 *     the rate constant
 * @param minLearningRate floor of the cosine decay
 * @param seed seed of initialisation, batch sampling and dropout
 */
public record TrainingConfig(
        int batchSize,
        double learningRate,
        double weightDecay,
        double beta1,
        double beta2,
        double gradClip,
        int warmupSteps,
        int decaySteps,
        double minLearningRate,
        long seed)
        implements Serializable {

    /** Adam's epsilon, as in torch.optim.AdamW. */
    public static final double ADAM_EPSILON = 1e-8;

    public static final Param<Integer> BATCH_SIZE =
            Param.ofInt("batch-size", "Sequences per training step.", null)
                    .atLeast(1)
                    .defaultDescribedAs("the preset's");
    public static final Param<Double> LEARNING_RATE =
            Param.ofDouble("learning-rate", "Peak AdamW learning rate.", null)
                    .mustBe(lr -> lr > 0, "> 0")
                    .defaultDescribedAs("the preset's");
    public static final Param<Double> WEIGHT_DECAY =
            Param.ofDouble("weight-decay", "AdamW weight decay (torch's default).", 0.01)
                    .atLeast(0);
    public static final Param<Double> BETA1 =
            Param.ofDouble("beta1", "AdamW first-moment decay.", 0.9)
                    .mustBe(b -> b >= 0 && b < 1, "in [0, 1)");
    public static final Param<Double> BETA2 =
            Param.ofDouble("beta2", "AdamW second-moment decay.", 0.999)
                    .mustBe(b -> b >= 0 && b < 1, "in [0, 1)");
    public static final Param<Double> GRAD_CLIP =
            Param.ofDouble("grad-clip", "Clip the gradient's L2 norm to this; 0 is off.", 0.0)
                    .atLeast(0);
    public static final Param<Integer> WARMUP_STEPS =
            Param.ofInt("warmup-steps", "Linear learning-rate warm-up steps; 0 is off.", 0)
                    .atLeast(0);
    public static final Param<Integer> DECAY_STEPS =
            Param.ofInt(
                            "decay-steps",
                            "Cosine decay ends at this step; 0 keeps the rate constant.",
                            0)
                    .atLeast(0);
    public static final Param<Double> MIN_LEARNING_RATE =
            Param.ofDouble("min-learning-rate", "Floor of the cosine decay.", 0.0).atLeast(0);
    public static final Param<Long> SEED =
            Param.ofLong("seed", "Seed of initialisation, batches and dropout.", 1337L);

    /** The settings, in component order. */
    public static final List<Param<?>> PARAMS =
            List.of(
                    BATCH_SIZE,
                    LEARNING_RATE,
                    WEIGHT_DECAY,
                    BETA1,
                    BETA2,
                    GRAD_CLIP,
                    WARMUP_STEPS,
                    DECAY_STEPS,
                    MIN_LEARNING_RATE,
                    SEED);

    public TrainingConfig {
        List<String> errors =
                Params.errors(
                        PARAMS,
                        batchSize,
                        learningRate,
                        weightDecay,
                        beta1,
                        beta2,
                        gradClip,
                        warmupSteps,
                        decaySteps,
                        minLearningRate,
                        seed);
        if (decaySteps > 0 && decaySteps <= warmupSteps) {
            errors.add(
                    "decay-steps ("
                            + decaySteps
                            + ") must exceed warmup-steps ("
                            + warmupSteps
                            + ")");
        }
        if (minLearningRate > learningRate) {
            errors.add("min-learning-rate must not exceed learning-rate, got " + minLearningRate);
        }
        Params.require("training config", errors);
    }

    /** The defaults with a preset's batch size and learning rate. */
    static TrainingConfig defaults(int batchSize, double learningRate) {
        return Params.create(
                TrainingConfig.class,
                PARAMS,
                java.util.Map.of(BATCH_SIZE, batchSize, LEARNING_RATE, learningRate));
    }

    /** A named preset's training settings: {@code reference} or {@code cpu}. */
    public static TrainingConfig preset(String name) {
        return ModelPreset.named(name).training();
    }

    /** A copy with one setting changed. */
    public <T> TrainingConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }

    /**
     * Learning rate at optimizer step {@code step} (0-based): warm-up, then cosine, else constant.
     */
    public double learningRateAt(long step) {
        if (warmupSteps > 0 && step < warmupSteps) {
            return learningRate * (step + 1) / warmupSteps;
        }
        if (decaySteps == 0) {
            return learningRate;
        }
        if (step >= decaySteps) {
            return minLearningRate;
        }
        double progress = (double) (step - warmupSteps) / (decaySteps - warmupSteps);
        return minLearningRate
                + 0.5 * (1 + Math.cos(Math.PI * progress)) * (learningRate - minLearningRate);
    }
}
