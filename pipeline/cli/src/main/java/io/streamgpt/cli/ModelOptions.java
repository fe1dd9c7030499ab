package io.streamgpt.cli;

import io.streamgpt.model.GptConfig;

import picocli.CommandLine.Option;

/**
 * The model and training options shared by commands: a preset, then any field of {@link GptConfig}
 * overridden by name. Unset overrides keep the preset's value.
 */
public final class ModelOptions {

    @Option(
            names = "--preset",
            defaultValue = "cpu",
            description =
                    "Model preset: reference (6x384, block 256, batch 64) or cpu (4x128, block 64,"
                            + " batch 12). Default: ${DEFAULT-VALUE}.")
    public String preset;

    @Option(names = "--n-layer", description = "Transformer blocks (default: preset).")
    Integer nLayer;

    @Option(names = "--n-head", description = "Attention heads (default: preset).")
    Integer nHead;

    @Option(
            names = "--n-embd",
            description = "Embedding width, a multiple of --n-head (default: preset).")
    Integer nEmbd;

    @Option(names = "--block-size", description = "Context length (default: preset).")
    Integer blockSize;

    @Option(names = "--dropout", description = "Dropout probability (default: preset).")
    Double dropout;

    @Option(names = "--batch-size", description = "Sequences per step (default: preset).")
    Integer batchSize;

    @Option(names = "--learning-rate", description = "AdamW learning rate (default: preset).")
    Double learningRate;

    @Option(
            names = "--weight-decay",
            description = "AdamW weight decay (default: preset, 0.01 as torch).")
    Double weightDecay;

    @Option(
            names = "--grad-clip",
            description = "Clip the gradient norm; 0 is off (default: preset).")
    Double gradClip;

    @Option(
            names = "--warmup-steps",
            description = "Linear learning-rate warm-up steps; 0 is off (default: 0).")
    Integer warmupSteps;

    @Option(
            names = "--decay-steps",
            description = "Cosine decay ends at this step; 0 keeps the rate constant (default: 0).")
    Integer decaySteps;

    @Option(names = "--min-learning-rate", description = "Floor of the cosine decay (default: 0).")
    Double minLearningRate;

    @Option(
            names = "--seed",
            description = "Seed of initialisation, batches and dropout (default: preset, 1337).")
    Long seed;

    /** The preset with every given override applied, validated. */
    public GptConfig toConfig(int vocabSize) {
        GptConfig p = GptConfig.preset(preset, vocabSize);
        return new GptConfig(
                vocabSize,
                or(blockSize, p.blockSize()),
                or(nLayer, p.nLayer()),
                or(nHead, p.nHead()),
                or(nEmbd, p.nEmbd()),
                or(dropout, p.dropout()),
                or(batchSize, p.batchSize()),
                or(learningRate, p.learningRate()),
                or(weightDecay, p.weightDecay()),
                p.beta1(),
                p.beta2(),
                or(gradClip, p.gradClip()),
                or(warmupSteps, p.warmupSteps()),
                or(decaySteps, p.decaySteps()),
                or(minLearningRate, p.minLearningRate()),
                or(seed, p.seed()));
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
