package io.streamgpt.connectors.chunks;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParameterChunksTest {

    @Test
    void slicesReassembleExactly() {
        float[] parameters = new float[10_007];
        Random random = new Random(1);
        for (int i = 0; i < parameters.length; i++) {
            parameters[i] = (float) random.nextGaussian();
        }
        int chunkSize = 1000;
        int count = ParameterChunks.count(parameters.length, chunkSize);
        assertThat(count).isEqualTo(11);
        ParameterChunks.Assembly assembly =
                new ParameterChunks.Assembly(parameters.length, chunkSize);
        for (int c = count - 1; c >= 0; c--) { // any order
            assertThat(assembly.complete()).isFalse();
            assembly.add(c, ParameterChunks.slice(parameters, c, chunkSize));
            assembly.add(
                    c,
                    new float
                            [ParameterChunks.slice(parameters, c, chunkSize)
                                    .length]); // a repeat is ignored
        }
        assertThat(assembly.complete()).isTrue();
        assertThat(assembly.values()).containsExactly(parameters);
    }

    @Test
    void wrongSizesAreRejected() {
        ParameterChunks.Assembly assembly = new ParameterChunks.Assembly(5, 2);
        assertThatThrownBy(() -> assembly.add(2, new float[2]))
                .hasMessageContaining("has 2 values, expected 1");
        assertThatThrownBy(() -> assembly.add(3, new float[1]))
                .hasMessageContaining("outside 0..2");
    }
}
