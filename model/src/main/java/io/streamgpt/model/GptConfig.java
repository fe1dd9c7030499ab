package io.streamgpt.model;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.io.Serializable;
import java.util.List;

/**
 * The shape of the GPT, as nanoGPT's {@code GPTConfig}: what the parameters are, nothing about how
 * they are trained ({@link TrainingConfig}). Presets ({@link ModelPreset}) name the shapes of the
 * reference (Karpathy's <a href="https://github.com/karpathy/ng-video-lecture">gpt.py</a>) and of
 * <a href="https://github.com/karpathy/nanoGPT">nanoGPT</a>'s CPU recipe.
 *
 * @param vocabSize tokens in the vocabulary: the embedding rows and the head's outputs
 * @param blockSize context length: the longest sequence the model attends over
 * @param nLayer transformer blocks
 * @param nHead attention heads per block
 * @param nEmbd embedding width; a multiple of nHead
 * @param dropout dropout probability on attention weights and residual branches
 */
public record GptConfig(
        int vocabSize, int blockSize, int nLayer, int nHead, int nEmbd, double dropout)
        implements Serializable {

    public static final Param<Integer> VOCAB_SIZE =
            Param.ofInt("vocab-size", "Tokens in the vocabulary (from the vocabulary).", null)
                    .atLeast(1)
                    .derived();
    public static final Param<Integer> BLOCK_SIZE =
            preset(Param.ofInt("block-size", "Context length.", null).atLeast(1));
    public static final Param<Integer> N_LAYER =
            preset(Param.ofInt("n-layer", "Transformer blocks.", null).atLeast(1));
    public static final Param<Integer> N_HEAD =
            preset(Param.ofInt("n-head", "Attention heads per block.", null).atLeast(1));
    public static final Param<Integer> N_EMBD =
            preset(
                    Param.ofInt("n-embd", "Embedding width, a multiple of --n-head.", null)
                            .atLeast(1));
    public static final Param<Double> DROPOUT =
            preset(
                    Param.ofDouble(
                                    "dropout",
                                    "Dropout probability on attention weights and residual"
                                            + " branches.",
                                    null)
                            .mustBe(p -> p >= 0 && p < 1, "in [0, 1)"));

    /** The settings, in component order. */
    public static final List<Param<?>> PARAMS =
            List.of(VOCAB_SIZE, BLOCK_SIZE, N_LAYER, N_HEAD, N_EMBD, DROPOUT);

    public GptConfig {
        List<String> errors =
                Params.errors(PARAMS, vocabSize, blockSize, nLayer, nHead, nEmbd, dropout);
        if (nHead > 0 && nEmbd > 0 && nEmbd % nHead != 0) {
            errors.add("n-embd (" + nEmbd + ") must be divisible by n-head (" + nHead + ")");
        }
        Params.require("model config", errors);
    }

    /** A named preset's shape: {@code reference} or {@code cpu} (see {@link ModelPreset}). */
    public static GptConfig preset(String name, int vocabSize) {
        return ModelPreset.named(name).shape(vocabSize);
    }

    public int headSize() {
        return nEmbd / nHead;
    }

    /** A copy with one setting changed. */
    public <T> GptConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }

    public GptConfig withVocabSize(int vocabSize) {
        return with(VOCAB_SIZE, vocabSize);
    }

    private static <T> Param<T> preset(Param<T> param) {
        return param.defaultDescribedAs("the preset's");
    }
}
