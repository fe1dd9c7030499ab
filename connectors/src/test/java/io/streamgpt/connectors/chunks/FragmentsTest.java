package io.streamgpt.connectors.chunks;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FragmentsTest {

    @Test
    void fiveChunksInTwoFragmentsAreChunks0To1And2To4() {
        Fragments f = new Fragments(2, 5); // floor(0 x 5 / 2) = 0, floor(5 / 2) = 2, 5
        assertThat(f.firstChunk(0)).isZero();
        assertThat(f.endChunk(0)).isEqualTo(2);
        assertThat(f.endChunk(1)).isEqualTo(5);
        assertThat(new int[] {f.ofChunk(0), f.ofChunk(1), f.ofChunk(2), f.ofChunk(4)})
                .containsExactly(0, 0, 1, 1);
        assertThat(f.isFirstChunk(2)).isTrue();
        assertThat(f.isFirstChunk(3)).isFalse();
        assertThat(f.ofRound(7)).as("round 7 mod 2").isEqualTo(1);
        // a vector of 9 values in chunks of 2 (5 chunks): fragment 1 holds values 4..8
        assertThat(f.firstValue(1, 2)).isEqualTo(4);
        assertThat(f.endValue(1, 2, 9)).isEqualTo(9);
    }

    @Test
    void oneFragmentIsTheWholeVectorAndMoreFragmentsThanChunksAreRefused() {
        Fragments whole = Fragments.whole(3);
        assertThat(whole.ofChunk(2)).isZero();
        assertThat(whole.ofRound(5)).isZero();
        assertThat(whole.isFirstChunk(0)).isTrue();
        assertThatThrownBy(() -> new Fragments(4, 3))
                .hasMessage("sync-fragments must be in [1, chunks of the model = 3], got 4");
    }

    @Test
    void aRangeAssemblyHoldsOnlyItsChunksValues() {
        VectorAssembly range = new VectorAssembly(5, 2, 1, 3); // chunks 1-2: values 2..4
        range.add(new Slice(2, 3, new float[] {5f}));
        assertThat(range.complete()).isFalse();
        range.add(new Slice(1, 3, new float[] {3f, 4f}));
        assertThat(range.complete()).isTrue();
        assertThat(range.firstValue()).isEqualTo(2);
        assertThat(range.values()).containsExactly(3f, 4f, 5f);
        assertThatThrownBy(() -> range.add(new Slice(0, 3, new float[] {1f, 2f})))
                .hasMessageContaining("outside this range");
    }
}
