package io.streamgpt.connectors.chunks;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class VectorAssemblyTest {

    @Test
    void slicesReassembleExactlyInAnyOrder() {
        float[] parameters = new float[10_007];
        Random random = new Random(1);
        for (int i = 0; i < parameters.length; i++) {
            parameters[i] = (float) random.nextGaussian();
        }
        int chunkSize = 1000;
        int count = Slice.count(parameters.length, chunkSize);
        assertThat(count).isEqualTo(11); // 10 full chunks and one of 7 values
        VectorAssembly assembly = new VectorAssembly(parameters.length, chunkSize);
        for (int c = count - 1; c >= 0; c--) {
            assertThat(assembly.complete()).isFalse();
            Slice slice = Slice.of(parameters, c, chunkSize);
            assembly.add(slice);
            assembly.add(
                    new Slice(c, count, new float[slice.values().length])); // a repeat is ignored
        }
        assertThat(assembly.complete()).isTrue();
        assertThat(assembly.values()).containsExactly(parameters);
    }

    @Test
    void wrongSizesAreRejected() {
        VectorAssembly assembly = new VectorAssembly(5, 2); // chunks of 2, 2 and 1 values
        assertThatThrownBy(() -> assembly.add(new Slice(2, 3, new float[2])))
                .hasMessageContaining("chunk 2 has 2 values, expected 1");
        assertThatThrownBy(() -> assembly.add(new Slice(1, 4, new float[2])))
                .hasMessageContaining("does not fit a vector of 3 chunks");
        assertThatThrownBy(() -> new Slice(3, 3, new float[1]))
                .hasMessageContaining("outside 0..2");
    }
}
