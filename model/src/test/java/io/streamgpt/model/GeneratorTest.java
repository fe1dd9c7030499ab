package io.streamgpt.model;

import ai.djl.Device;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class GeneratorTest {

    @BeforeAll
    static void engine() {
        TorchRuntime.configure(1);
    }

    /** Logits of a full forward pass over {@code window}, at its last position. */
    private static float[] fullLogits(Gpt model, int[] window) {
        long[] ids = new long[window.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = window[i];
        }
        try (NDScope scope = new NDScope();
                GradMode off = GradMode.disabled()) {
            float[] all =
                    model.logits(model.manager().create(ids, new Shape(1, ids.length)), false)
                            .toFloatArray();
            int v = model.config().vocabSize();
            return java.util.Arrays.copyOfRange(all, all.length - v, all.length);
        }
    }

    @Test
    void cachedLogitsEqualFullRecomputationWithinAndBeyondTheBlock() {
        GptConfig config = GptTest.TINY; // block 16
        try (Gpt model = Gpt.create(config, 7, Device.cpu())) {
            Generator generator = new Generator(model);
            Random random = new Random(9);
            try (Generator.Session cached = generator.open(new int[] {1, 2, 3}, true);
                    Generator.Session full = generator.open(new int[] {1, 2, 3}, false)) {
                for (int step = 0; step < 60; step++) { // well past block_size: the window restarts
                    float[] kv = cached.nextLogits();
                    float[] reference = fullLogits(model, cached.lastWindow());
                    assertThat(kv).hasSize(config.vocabSize());
                    for (int i = 0; i < kv.length; i++) {
                        assertThat(kv[i]).isCloseTo(reference[i], within(1e-4f));
                    }
                    float[] uncached = full.nextLogits();
                    if (cached.lastWindow().length == full.lastWindow().length) { // same context
                        for (int i = 0; i < kv.length; i++) {
                            assertThat(kv[i]).isCloseTo(uncached[i], within(1e-4f));
                        }
                    }
                    int token = random.nextInt(config.vocabSize());
                    cached.append(token);
                    full.append(token);
                }
            }
        }
    }

    @Test
    void withinTheBlockBothPathsGenerateTheSameText() {
        try (Gpt model = Gpt.create(GptTest.TINY, 7, Device.cpu())) {
            Generator generator = new Generator(model);
            int[] kv = generator.generate(new int[] {5}, 15, Sampler.multinomial(4), true);
            int[] full = generator.generate(new int[] {5}, 15, Sampler.multinomial(4), false);
            assertThat(kv).containsExactly(full);
        }
    }

    @Test
    void generationIsSeededAndRespectsTheVocabulary() {
        try (Gpt model = Gpt.create(GptTest.TINY, 7, Device.cpu())) {
            Generator generator = new Generator(model);
            int[] a = generator.generate(new int[0], 40, new Sampler(0.8, 5, 7), true);
            int[] b = generator.generate(new int[0], 40, new Sampler(0.8, 5, 7), true);
            assertThat(a).containsExactly(b);
            assertThat(java.util.Arrays.stream(a)).allMatch(t -> t >= 0 && t < 17);
        }
    }
}
