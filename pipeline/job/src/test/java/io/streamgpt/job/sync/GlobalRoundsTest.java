package io.streamgpt.job.sync;

import io.streamgpt.connectors.chunks.ModelChunk;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GlobalRoundsTest {

    private static ModelChunk global(int generation, long round, int chunk, float... values) {
        return new ModelChunk(
                ModelChunk.Kind.GLOBAL,
                generation,
                round,
                2,
                chunk,
                2,
                round * 10,
                0,
                1f,
                0L,
                null,
                values);
    }

    @Test
    void aRoundCompletesWhenAllItsChunksArrived() {
        GlobalRounds rounds = new GlobalRounds(3, 2, 0, 0, false);
        assertThat(rounds.offer(global(0, 1, 1, 3f))).isNull();
        GlobalRounds.Round round = rounds.offer(global(0, 1, 0, 1f, 2f));
        assertThat(round.round()).isEqualTo(1);
        assertThat(round.parameters()).containsExactly(1f, 2f, 3f);
        assertThat(round.head().chunk()).isZero();
    }

    @Test
    void staleGenerationsAndSupersededRoundsAreIgnored() {
        GlobalRounds rounds = new GlobalRounds(2, 2, 3, 5, false);
        assertThat(rounds.offer(global(2, 9, 0, 1f, 1f))).isNull(); // written before the restore
        assertThat(rounds.offer(global(3, 5, 0, 1f, 1f))).isNull(); // already adopted
        assertThat(rounds.ignored()).isEqualTo(2);
        assertThat(rounds.offer(global(3, 6, 0, 7f, 8f)).parameters()).containsExactly(7f, 8f);
        assertThat(rounds.offer(global(4, 7, 0, 7f, 8f)))
                .as("a replica keeps its own generation")
                .isNull();
    }

    @Test
    void theEvaluatorFollowsTheNewestGeneration() {
        GlobalRounds rounds = new GlobalRounds(2, 2, 0, 0, true);
        assertThat(rounds.offer(global(0, 8, 0, 1f, 1f))).isNotNull();
        assertThat(rounds.offer(global(1, 3, 0, 2f, 2f)))
                .as("restored job, lower round numbers")
                .isNotNull();
        assertThat(rounds.offer(global(0, 9, 0, 1f, 1f))).isNull();
    }
}
