package io.streamgpt.job.sync;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GlobalRoundsTest {

    /** Chunk {@code chunk} of {@code chunks} of a global round, at step round x 10. */
    private static GlobalChunk global(
            int generation, long round, int chunk, int chunks, float... values) {
        return new GlobalChunk(
                new RoundId(generation, round),
                2,
                new Progress(round * 10, 0, 1f),
                null,
                new Slice(chunk, chunks, values));
    }

    @Test
    void aRoundCompletesWhenAllItsChunksArrived() {
        GlobalRounds rounds = new GlobalRounds(3, 2, 0, 0, false);
        assertThat(rounds.offer(global(0, 1, 1, 2, 3f))).isNull();
        GlobalRounds.Round round = rounds.offer(global(0, 1, 0, 2, 1f, 2f));
        assertThat(round.round()).isEqualTo(1);
        assertThat(round.parameters()).containsExactly(1f, 2f, 3f);
        assertThat(round.head().chunk()).isZero();
    }

    @Test
    void staleGenerationsAndSupersededRoundsAreIgnored() {
        GlobalRounds rounds = new GlobalRounds(2, 2, 3, 5, false);
        assertThat(rounds.offer(global(2, 9, 0, 1, 1f, 1f))).isNull(); // written before the restore
        assertThat(rounds.offer(global(3, 5, 0, 1, 1f, 1f))).isNull(); // already adopted
        assertThat(rounds.ignored()).isEqualTo(2);
        assertThat(rounds.offer(global(3, 6, 0, 1, 7f, 8f)).parameters()).containsExactly(7f, 8f);
        assertThat(rounds.offer(global(4, 7, 0, 1, 7f, 8f)))
                .as("a replica keeps its own generation")
                .isNull();
    }

    @Test
    void theEvaluatorFollowsTheNewestGeneration() {
        GlobalRounds rounds = new GlobalRounds(2, 2, 0, 0, true);
        assertThat(rounds.offer(global(0, 8, 0, 1, 1f, 1f))).isNotNull();
        assertThat(rounds.offer(global(1, 3, 0, 1, 2f, 2f)))
                .as("restored job, lower round numbers")
                .isNotNull();
        assertThat(rounds.offer(global(0, 9, 0, 1, 1f, 1f))).isNull();
    }
}
