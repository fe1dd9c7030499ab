package io.streamgpt.job.sync;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunkRejections.Reason;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;

import org.junit.jupiter.api.Test;

import static io.streamgpt.job.sync.GlobalRounds.MAX_ROUNDS_IN_FLIGHT;
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

    @Test
    void chunksThatDoNotCutTheModelAreCountedNotThrownOn() {
        GlobalRounds rounds = new GlobalRounds(3, 2, 0, 0, false); // chunks of 2 and 1 values
        assertThat(rounds.offer(global(0, 1, 1, 2, 3f, 4f))).as("last chunk, 2 values").isNull();
        assertThat(rounds.offer(global(0, 1, 0, 3, 1f, 2f))).as("3 chunks").isNull();
        assertThat(rounds.offer(global(0, 1, 0, 2, 1f))).as("first chunk, 1 value").isNull();
        assertThat(rounds.rejections().count(Reason.LAYOUT)).isEqualTo(3);
        assertThat(rounds.roundsInFlight()).as("nothing allocated for them").isZero();
        assertThat(rounds.offer(global(0, 1, 1, 2, 3f))).isNull();
        assertThat(rounds.offer(global(0, 1, 0, 2, 1f, 2f)).parameters())
                .containsExactly(1f, 2f, 3f);
    }

    @Test
    void farFutureRoundsCannotHoldMoreThanTheBoundAndTheNextRealRoundStillCompletes() {
        GlobalRounds rounds = new GlobalRounds(3, 2, 0, 4, false);
        assertThat(rounds.offer(global(0, 5, 1, 2, 3f))).isNull(); // round 5 under way
        for (long far = 1_000; far < 1_100; far++) { // 100 rounds that will never complete
            assertThat(rounds.offer(global(0, far, 1, 2, 9f))).isNull();
            assertThat(rounds.roundsInFlight()).isLessThanOrEqualTo(MAX_ROUNDS_IN_FLIGHT);
        }
        // rounds 1000, 1001, 1002 took the free places; the other 97 found them full
        assertThat(rounds.rejections().count(Reason.TOO_MANY_ROUNDS)).isEqualTo(97);
        assertThat(rounds.offer(global(0, 5, 0, 2, 1f, 2f)).parameters())
                .containsExactly(1f, 2f, 3f);
        assertThat(rounds.roundsInFlight()).isEqualTo(3);
        // round 6 while 1000..1002 and 7 are in flight: 1002, the furthest, makes room
        assertThat(rounds.offer(global(0, 7, 1, 2, 3f))).isNull();
        assertThat(rounds.offer(global(0, 6, 1, 2, 3f))).isNull();
        assertThat(rounds.rejections().count(Reason.TOO_MANY_ROUNDS)).isEqualTo(98);
        assertThat(rounds.offer(global(0, 6, 0, 2, 5f, 6f)).parameters())
                .containsExactly(5f, 6f, 3f);
    }

    @Test
    void aFollowerMovesToANewerGenerationOnlyOnceOneOfItsRoundsIsComplete() {
        GlobalRounds rounds = new GlobalRounds(3, 2, 0, 0, true);
        assertThat(rounds.offer(global(5, 1, 0, 2, 9f, 9f))).isNull(); // a lone chunk of gen 5
        assertThat(rounds.offer(global(0, 1, 0, 2, 1f, 2f))).isNull();
        assertThat(rounds.offer(global(0, 1, 1, 2, 3f)).version()).isEqualTo(new RoundId(0, 1));
        assertThat(rounds.generation()).as("still the job's").isZero();
        assertThat(rounds.offer(global(5, 1, 1, 2, 9f)).version()).isEqualTo(new RoundId(5, 1));
        assertThat(rounds.generation()).isEqualTo(5);
    }

    /** 4 values in chunks of 1, F = 2: round r carries chunks 0-1 (r even) or 2-3 (r odd). */
    private static GlobalRounds fragmentReader(boolean follower, float[] start) {
        return new GlobalRounds(4, 1, 2, 0, 0, follower, start);
    }

    @Test
    void withTwoFragmentsAReplicaRoundCompletesWithItsHalfAndUpdatesTheWholeModel() {
        GlobalRounds rounds = fragmentReader(false, new float[] {1f, 2f, 3f, 4f});
        assertThat(rounds.offer(global(0, 1, 0, 4, 9f)))
                .as("chunk 0 is fragment 0's; round 1 carries fragment 1")
                .isNull();
        assertThat(rounds.rejections().count(Reason.LAYOUT)).isEqualTo(1);
        assertThat(rounds.offer(global(0, 1, 2, 4, 30f))).isNull();
        GlobalRounds.Round round = rounds.offer(global(0, 1, 3, 4, 40f));
        assertThat(round.fragment()).isEqualTo(1);
        assertThat(round.firstValue()).isEqualTo(2);
        assertThat(round.values()).containsExactly(30f, 40f);
        assertThat(round.head().chunk()).as("the fragment's first chunk").isEqualTo(2);
        // the start model with fragment 1 from round 1
        assertThat(round.parameters()).containsExactly(1f, 2f, 30f, 40f);
    }

    @Test
    void withTwoFragmentsAFollowerHasAWholeModelOnceBothWereSeenThenOneVersionPerRound() {
        GlobalRounds rounds = fragmentReader(true, null);
        rounds.offer(global(0, 1, 2, 4, 30f));
        assertThat(rounds.offerWhole(global(0, 1, 3, 4, 40f)))
                .as("fragment 0 not seen yet")
                .isNull();
        rounds.offer(global(0, 2, 0, 4, 10f));
        GlobalRounds.Round two = rounds.offerWhole(global(0, 2, 1, 4, 20f));
        assertThat(two.round()).isEqualTo(2);
        assertThat(two.parameters()).containsExactly(10f, 20f, 30f, 40f);
        rounds.offer(global(0, 3, 2, 4, 31f));
        GlobalRounds.Round three = rounds.offerWhole(global(0, 3, 3, 4, 41f));
        assertThat(three.parameters()).containsExactly(10f, 20f, 31f, 41f);
        assertThat(two.parameters())
                .as("an earlier version is not changed")
                .containsExactly(10f, 20f, 30f, 40f);
    }

    @Test
    void withTwoFragmentsARoundOfOneFragmentIsNotStaleBecauseANewerOneOfTheOtherCompleted() {
        GlobalRounds rounds = fragmentReader(false, new float[4]);
        rounds.offer(global(0, 2, 0, 4, 10f)); // round 2 (fragment 0) half there
        rounds.offer(global(0, 3, 2, 4, 31f));
        assertThat(rounds.offer(global(0, 3, 3, 4, 41f)).round()).isEqualTo(3); // round 3 first
        GlobalRounds.Round two = rounds.offer(global(0, 2, 1, 4, 20f));
        assertThat(two.round()).as("still adopted: another fragment").isEqualTo(2);
        assertThat(two.parameters()).containsExactly(10f, 20f, 31f, 41f);
        assertThat(rounds.offer(global(0, 1, 2, 4, 99f)))
                .as("older than fragment 1's newest, round 3")
                .isNull();
        assertThat(rounds.ignored()).isEqualTo(1);
    }

    @Test
    void withTwoFragmentsTwiceAsManyHalfRoundsAreAssembledAtOnce() {
        GlobalRounds rounds = fragmentReader(false, null);
        for (long round = 1; round <= 20; round += 2) { // 10 odd rounds, each missing chunk 3
            rounds.offer(global(0, round, 2, 4, 1f));
        }
        // 2 x 4 half rounds = the memory of 4 whole ones; rounds 17 and 19 found no place
        assertThat(rounds.roundsInFlight()).isEqualTo(2 * MAX_ROUNDS_IN_FLIGHT);
        assertThat(rounds.rejections().count(Reason.TOO_MANY_ROUNDS)).isEqualTo(2);
    }
}
