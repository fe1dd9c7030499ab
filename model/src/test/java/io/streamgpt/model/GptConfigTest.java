package io.streamgpt.model;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class GptConfigTest {

    @Test
    void presetsHaveTheDocumentedShapes() {
        GptConfig reference = GptConfig.preset("reference", 65);
        assertThat(reference)
                .extracting(
                        GptConfig::nLayer,
                        GptConfig::nHead,
                        GptConfig::nEmbd,
                        GptConfig::blockSize,
                        GptConfig::batchSize,
                        GptConfig::dropout,
                        GptConfig::learningRate)
                .containsExactly(6, 6, 384, 256, 64, 0.2, 3e-4);
        GptConfig cpu = GptConfig.preset("cpu", 65);
        assertThat(cpu)
                .extracting(
                        GptConfig::nLayer,
                        GptConfig::nHead,
                        GptConfig::nEmbd,
                        GptConfig::blockSize,
                        GptConfig::batchSize,
                        GptConfig::dropout,
                        GptConfig::learningRate)
                .containsExactly(4, 4, 128, 64, 12, 0.0, 1e-3);
        assertThat(cpu.weightDecay()).isEqualTo(0.01); // torch.optim.AdamW's default
    }

    @Test
    void embeddingWidthMustDivideByHeads() {
        assertThatThrownBy(() -> GptConfig.preset("cpu", 65).withArchitecture(64, 4, 3, 128, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("n_embd (128) must be divisible by n_head (3)");
    }

    @Test
    void everyInvalidFieldIsReportedAtOnce() {
        assertThatThrownBy(
                        () -> new GptConfig(0, -1, 1, 1, 8, 1.5, 0, -1, -1, 1, 0.9, -1, 0, 0, 0, 1))
                .hasMessageContaining("vocab_size must be > 0")
                .hasMessageContaining("block_size must be > 0")
                .hasMessageContaining("batch_size must be > 0")
                .hasMessageContaining("dropout must be in [0, 1)")
                .hasMessageContaining("learning_rate must be > 0")
                .hasMessageContaining("weight_decay must be >= 0")
                .hasMessageContaining("betas")
                .hasMessageContaining("grad_clip");
    }

    @Test
    void unknownPresetNamesTheKnownOnes() {
        assertThatThrownBy(() -> GptConfig.preset("huge", 65))
                .hasMessageContaining("[reference, cpu]");
    }

    @Test
    void learningRateIsConstantUnlessScheduled() {
        GptConfig constant = GptConfig.preset("cpu", 65);
        assertThat(constant.learningRateAt(0)).isEqualTo(1e-3);
        assertThat(constant.learningRateAt(100_000)).isEqualTo(1e-3);

        GptConfig scheduled = constant.withTraining(12, 1e-3, 0.01, 1.0, 10, 110, 1e-4);
        assertThat(scheduled.learningRateAt(0)).isCloseTo(1e-4, within(1e-12));
        assertThat(scheduled.learningRateAt(9)).isCloseTo(1e-3, within(1e-12));
        assertThat(scheduled.learningRateAt(60)).isCloseTo(5.5e-4, within(1e-12));
        assertThat(scheduled.learningRateAt(110)).isEqualTo(1e-4);
        assertThatThrownBy(() -> constant.withTraining(12, 1e-3, 0.01, 0, 10, 5, 0))
                .hasMessageContaining("decay_steps (5) must exceed warmup_steps (10)");
    }
}
