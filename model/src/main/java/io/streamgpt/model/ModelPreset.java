package io.streamgpt.model;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Named starting points for a model's shape and training. {@code reference}: Karpathy's gpt.py on
 * tiny Shakespeare (6 layers, 6 heads, 384 wide, block 256, batch 64, dropout 0.2, lr 3e-4;
 * 10,788,929 parameters with its 65 characters). {@code cpu}: nanoGPT's CPU recipe (4 layers, 4
 * heads, 128 wide, block 64, batch 12, no dropout, lr 1e-3).
 */
public enum ModelPreset {
    REFERENCE(new GptConfig(65, 256, 6, 6, 384, 0.2), 64, 3e-4),
    CPU(new GptConfig(65, 64, 4, 4, 128, 0.0), 12, 1e-3);

    public static final Param<String> PARAM =
            Param.ofString(
                            "preset",
                            "Model preset: reference (6x384, block 256, batch 64) or cpu (4x128,"
                                    + " block 64, batch 12).",
                            "cpu")
                    .oneOf("reference", "cpu");

    private final GptConfig shape;
    private final int batchSize;
    private final double learningRate;

    ModelPreset(GptConfig shape, int batchSize, double learningRate) {
        this.shape = shape;
        this.batchSize = batchSize;
        this.learningRate = learningRate;
    }

    public static ModelPreset named(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "unknown preset '" + name + "'; known presets: " + names(), e);
        }
    }

    public static List<String> names() {
        return Arrays.stream(values()).map(p -> p.name().toLowerCase(Locale.ROOT)).toList();
    }

    public GptConfig shape(int vocabSize) {
        return shape.withVocabSize(vocabSize);
    }

    public TrainingConfig training() {
        return TrainingConfig.defaults(batchSize, learningRate);
    }

    /** A model chosen on the command line or in job arguments: a preset and its overrides. */
    public record Choice(GptConfig shape, TrainingConfig training) {}

    /**
     * The preset named by {@code --preset} in {@code arguments} (default cpu), with every shape and
     * training setting given there applied; every unreadable or invalid value in one message.
     */
    public static Choice choose(Map<String, String> arguments, int vocabSize) {
        List<String> errors = new ArrayList<>();
        String name = arguments.getOrDefault(PARAM.name(), PARAM.defaultValue());
        if (!names().contains(name)) {
            throw new IllegalArgumentException(
                    "invalid model config: preset must be one of "
                            + String.join(", ", names())
                            + ", got "
                            + name);
        }
        ModelPreset preset = named(name);
        var shape = Params.values(preset.shape(vocabSize), GptConfig.PARAMS);
        shape.putAll(Params.parse(GptConfig.PARAMS, arguments, errors));
        shape.put(GptConfig.VOCAB_SIZE, vocabSize);
        var training = Params.values(preset.training(), TrainingConfig.PARAMS);
        training.putAll(Params.parse(TrainingConfig.PARAMS, arguments, errors));
        Params.require("model config", errors);
        return new Choice(
                Params.create(GptConfig.class, GptConfig.PARAMS, shape),
                Params.create(TrainingConfig.class, TrainingConfig.PARAMS, training));
    }
}
