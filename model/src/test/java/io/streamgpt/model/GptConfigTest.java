package io.streamgpt.model;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class GptConfigTest {

    @Test
    void presetsHaveTheDocumentedShapesAndTraining() {
        assertThat(GptConfig.preset("reference", 65))
                .isEqualTo(new GptConfig(65, 256, 6, 6, 384, 0.2));
        assertThat(GptConfig.preset("cpu", 65)).isEqualTo(new GptConfig(65, 64, 4, 4, 128, 0.0));
        TrainingConfig reference = TrainingConfig.preset("reference");
        assertThat(reference.batchSize()).isEqualTo(64);
        assertThat(reference.learningRate()).isEqualTo(3e-4);
        TrainingConfig cpu = TrainingConfig.preset("cpu");
        assertThat(cpu.batchSize()).isEqualTo(12);
        assertThat(cpu.learningRate()).isEqualTo(1e-3);
        assertThat(cpu.weightDecay()).isEqualTo(0.01); // torch.optim.AdamW's default
        assertThat(cpu.seed()).isEqualTo(1337);
    }

    @Test
    void embeddingWidthMustDivideByHeads() {
        assertThatThrownBy(() -> GptConfig.preset("cpu", 65).with(GptConfig.N_HEAD, 3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("n-embd (128) must be divisible by n-head (3)");
    }

    @Test
    void everyInvalidFieldIsReportedAtOnce() {
        assertThatThrownBy(() -> new GptConfig(0, -1, 1, 1, 8, 1.5))
                .hasMessageContaining("vocab-size must be >= 1, got 0")
                .hasMessageContaining("block-size must be >= 1, got -1")
                .hasMessageContaining("dropout must be in [0, 1), got 1.5");
        assertThatThrownBy(() -> TrainingConfig.preset("cpu").with(TrainingConfig.BATCH_SIZE, 0))
                .hasMessageContaining("batch-size must be >= 1, got 0");
        assertThatThrownBy(() -> new TrainingConfig(0, -1, -1, 1, 0.9, -1, 0, 0, 0, 1))
                .hasMessageContaining("batch-size must be >= 1")
                .hasMessageContaining("learning-rate must be > 0")
                .hasMessageContaining("weight-decay must be >= 0")
                .hasMessageContaining("beta1 must be in [0, 1)")
                .hasMessageContaining("grad-clip must be >= 0");
    }

    @Test
    void unknownPresetNamesTheKnownOnes() {
        assertThatThrownBy(() -> GptConfig.preset("huge", 65))
                .hasMessageContaining("[reference, cpu]");
    }

    @Test
    void aChoiceIsThePresetWithTheGivenOverrides() {
        ModelPreset.Choice choice =
                ModelPreset.choose(
                        Map.of("preset", "reference", "n-layer", "2", "learning-rate", "1e-3"), 65);
        assertThat(choice.shape()).isEqualTo(new GptConfig(65, 256, 2, 6, 384, 0.2));
        assertThat(choice.training().batchSize()).isEqualTo(64);
        assertThat(choice.training().learningRate()).isEqualTo(1e-3);
        assertThatThrownBy(() -> ModelPreset.choose(Map.of("n-layer", "two", "seed", "x"), 65))
                .hasMessageContaining("n-layer must be an integer, got 'two'")
                .hasMessageContaining("seed must be an integer, got 'x'");
    }

    @Test
    void learningRateIsConstantUnlessScheduled() {
        TrainingConfig constant = TrainingConfig.preset("cpu");
        assertThat(constant.learningRateAt(0)).isEqualTo(1e-3);
        assertThat(constant.learningRateAt(100_000)).isEqualTo(1e-3);

        // warm-up over 10 steps to 1e-3, then cosine down to 1e-4 at step 110
        TrainingConfig scheduled =
                constant.with(TrainingConfig.GRAD_CLIP, 1.0)
                        .with(TrainingConfig.WARMUP_STEPS, 10)
                        .with(TrainingConfig.DECAY_STEPS, 110)
                        .with(TrainingConfig.MIN_LEARNING_RATE, 1e-4);
        assertThat(scheduled.learningRateAt(0)).isCloseTo(1e-4, within(1e-12)); // 1e-3 * 1/10
        assertThat(scheduled.learningRateAt(9)).isCloseTo(1e-3, within(1e-12));
        // half way through the cosine: (1e-3 + 1e-4) / 2
        assertThat(scheduled.learningRateAt(60)).isCloseTo(5.5e-4, within(1e-12));
        assertThat(scheduled.learningRateAt(110)).isEqualTo(1e-4);
        assertThatThrownBy(
                        () ->
                                constant.with(TrainingConfig.WARMUP_STEPS, 10)
                                        .with(TrainingConfig.DECAY_STEPS, 5))
                .hasMessageContaining("decay-steps (5) must exceed warmup-steps (10)");
    }
}
