package io.streamgpt.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Shape of the model and the knobs of its training, validated once here so that every later failure
 * is about data, not configuration.
 *
 * <p>The defaults of the training knobs are those of the reference: {@code torch.optim.AdamW} with
 * betas (0.9, 0.999), eps 1e-8 and weight decay 0.01, no gradient clipping and a constant learning
 * rate. Warm-up and cosine decay are available but off.
 *
 * @param vocabSize tokens in the vocabulary
 * @param blockSize context length: the longest sequence the model attends over
 * @param nLayer transformer blocks
 * @param nHead attention heads per block
 * @param nEmbd embedding width; a multiple of nHead
 * @param dropout dropout probability on attention weights and residual branches
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
public record GptConfig(
        int vocabSize,
        int blockSize,
        int nLayer,
        int nHead,
        int nEmbd,
        double dropout,
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
        implements java.io.Serializable {

    /** Adam's epsilon, as in torch.optim.AdamW. */
    public static final double ADAM_EPSILON = 1e-8;

    public static final List<String> PRESETS = List.of("reference", "cpu");

    public GptConfig {
        List<String> errors = new ArrayList<>();
        positive(errors, "vocab_size", vocabSize);
        positive(errors, "block_size", blockSize);
        positive(errors, "n_layer", nLayer);
        positive(errors, "n_head", nHead);
        positive(errors, "n_embd", nEmbd);
        positive(errors, "batch_size", batchSize);
        if (nHead > 0 && nEmbd > 0 && nEmbd % nHead != 0) {
            errors.add("n_embd (" + nEmbd + ") must be divisible by n_head (" + nHead + ")");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            errors.add("dropout must be in [0, 1), got " + dropout);
        }
        if (!(learningRate > 0)) {
            errors.add("learning_rate must be > 0, got " + learningRate);
        }
        if (!(weightDecay >= 0)) {
            errors.add("weight_decay must be >= 0, got " + weightDecay);
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
            errors.add("betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
        }
        if (!(gradClip >= 0)) {
            errors.add("grad_clip must be >= 0 (0 disables it), got " + gradClip);
        }
        if (warmupSteps < 0 || decaySteps < 0) {
            errors.add("warmup_steps and decay_steps must be >= 0");
        }
        if (decaySteps > 0 && decaySteps <= warmupSteps) {
            errors.add(
                    "decay_steps ("
                            + decaySteps
                            + ") must exceed warmup_steps ("
                            + warmupSteps
                            + ")");
        }
        if (!(minLearningRate >= 0 && minLearningRate <= learningRate)) {
            errors.add("min_learning_rate must be in [0, learning_rate], got " + minLearningRate);
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(
                    "invalid model config: " + String.join("; ", errors));
        }
    }

    /**
     * A named preset. {@code reference}: Karpathy's gpt.py on tiny Shakespeare (6 layers, 6 heads,
     * 384 wide, block 256, batch 64, dropout 0.2, lr 3e-4). {@code cpu}: nanoGPT's CPU recipe (4
     * layers, 4 heads, 128 wide, block 64, batch 12, no dropout, lr 1e-3).
     */
    public static GptConfig preset(String name, int vocabSize) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "reference":
                return new GptConfig(
                        vocabSize, 256, 6, 6, 384, 0.2, 64, 3e-4, 0.01, 0.9, 0.999, 0, 0, 0, 0,
                        1337);
            case "cpu":
                return new GptConfig(
                        vocabSize, 64, 4, 4, 128, 0.0, 12, 1e-3, 0.01, 0.9, 0.999, 0, 0, 0, 0,
                        1337);
            default:
                throw new IllegalArgumentException(
                        "unknown preset '" + name + "'; known presets: " + PRESETS);
        }
    }

    public int headSize() {
        return nEmbd / nHead;
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

    public GptConfig withVocabSize(int v) {
        return new GptConfig(
                v,
                blockSize,
                nLayer,
                nHead,
                nEmbd,
                dropout,
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
    }

    public GptConfig withArchitecture(int block, int layers, int heads, int embd, double drop) {
        return new GptConfig(
                vocabSize,
                block,
                layers,
                heads,
                embd,
                drop,
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
    }

    public GptConfig withTraining(
            int batch, double lr, double wd, double clip, int warmup, int decay, double minLr) {
        return new GptConfig(
                vocabSize, blockSize, nLayer, nHead, nEmbd, dropout, batch, lr, wd, beta1, beta2,
                clip, warmup, decay, minLr, seed);
    }

    public GptConfig withSeed(long s) {
        return new GptConfig(
                vocabSize,
                blockSize,
                nLayer,
                nHead,
                nEmbd,
                dropout,
                batchSize,
                learningRate,
                weightDecay,
                beta1,
                beta2,
                gradClip,
                warmupSteps,
                decaySteps,
                minLearningRate,
                s);
    }

    private static void positive(List<String> errors, String name, int value) {
        if (value <= 0) {
            errors.add(name + " must be > 0, got " + value);
        }
    }
}
