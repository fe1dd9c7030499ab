package io.streamgpt.job.replica;

import io.streamgpt.job.config.ReplicaConfig.ReplayPolicy;
import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.model.TokenCorpus;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ReplayBufferTest {

    private static TokenWindow window(String source, long position, int length) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = (int) ((position + i) % 1000); // token = its stream position: easy to check
        }
        return new TokenWindow(source, position, position, tokens);
    }

    @Test
    void overlappingWindowsMergeIntoOneContiguousRun() {
        ReplayBuffer buffer = new ReplayBuffer(10_000);
        for (int w = 0; w < 10; w++) {
            buffer.add(window("a", w * 8L, 9)); // width 9, stride 8: one shared token
        }
        assertThat(buffer.runs()).hasSize(1);
        assertThat(buffer.size()).isEqualTo(81);
        buffer.add(window("a", 200, 9)); // a gap starts a new run
        buffer.add(window("b", 88, 9)); // another partition too
        assertThat(buffer.runs()).hasSize(3);
    }

    @Test
    void batchesStartAnywhereInsideRunsAndNeverCrossThem() {
        ReplayBuffer buffer = new ReplayBuffer(10_000);
        for (int w = 0; w < 20; w++) {
            buffer.add(window("a", w * 8L, 9));
        }
        buffer.add(window("a", 500, 9));
        Random random = new Random(3);
        boolean[] startSeen = new boolean[161];
        for (int i = 0; i < 400; i++) {
            TokenCorpus.Batch batch = buffer.sample(random, 4, 8);
            for (int b = 0; b < 4; b++) {
                long first = batch.inputs()[b * 8];
                for (int t = 0; t < 8; t++) { // consecutive positions: one run, no crossing
                    assertThat(batch.inputs()[b * 8 + t]).isEqualTo((first + t) % 1000);
                    assertThat(batch.targets()[b * 8 + t]).isEqualTo((first + t + 1) % 1000);
                }
                if (first < startSeen.length) {
                    startSeen[(int) first] = true;
                }
            }
        }
        int seen = 0;
        for (int s = 0; s < 153; s++) { // run 'a' 0..160 has 161 - 8 = 153 valid starts
            seen += startSeen[s] ? 1 : 0;
        }
        assertThat(seen).as("starts are not limited to window boundaries").isGreaterThan(120);
    }

    @Test
    void oldestTokensAreDroppedBeyondCapacity() {
        ReplayBuffer buffer = new ReplayBuffer(50);
        for (int w = 0; w < 20; w++) {
            buffer.add(window("a", w * 8L, 9));
        }
        assertThat(buffer.size()).isEqualTo(50);
        ReplayBuffer.Run run = buffer.runs().get(0);
        assertThat(run.end()).isEqualTo(161);
        assertThat(run.tokens()[0]).isEqualTo((int) (run.start() % 1000));
    }

    @Test
    void nothingToSampleUntilARunIsLongEnough() {
        ReplayBuffer buffer = new ReplayBuffer(100);
        assertThat(buffer.sample(new Random(), 2, 8)).isNull();
        buffer.add(window("a", 0, 8));
        assertThat(buffer.sample(new Random(), 2, 8)).isNull();
        buffer.add(window("a", 7, 9));
        assertThat(buffer.sample(new Random(), 2, 8)).isNotNull();
    }

    /** Of {@code draws} batch rows, how many start at a token at or above {@code threshold}. */
    private static int startsAtOrAbove(
            ReplayBuffer buffer, long seed, int batches, int blockSize, long threshold) {
        Random random = new Random(seed);
        int count = 0;
        for (int i = 0; i < batches; i++) {
            TokenCorpus.Batch batch = buffer.sample(random, 100, blockSize);
            for (int b = 0; b < 100; b++) {
                long first = batch.inputs()[b * blockSize];
                for (int t = 0; t < blockSize; t++) { // still contiguous: one run, no crossing
                    assertThat(batch.inputs()[b * blockSize + t]).isEqualTo(first + t);
                }
                count += first >= threshold ? 1 : 0;
            }
        }
        return count;
    }

    private static TokenWindow counting(String source, long position, int length) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = (int) (position + i); // no modulo: every token names its position
        }
        return new TokenWindow(source, position, position, tokens);
    }

    @Test
    void recentPolicyDrawsTheNewestHalfTwiceAsOftenAsTheOlderWhenTheHalfLifeIsHalfTheStarts() {
        // one run of tokens 0..2008, block 8: 2001 starts (0..2000). Start j's age is 2009 - j,
        // so the newest half (1000..2000) is 1000 tokens younger than the older half start for
        // start: with H = 1000 each weighs 2x its counterpart, share ~ 1 / (1 + 2^-1) = 2/3.
        // 20,000 draws: sd = sqrt(2/3 * 1/3 / 20000) = 0.0033; tolerance 4 sd = 0.0133.
        ReplayBuffer recent = new ReplayBuffer(100_000, ReplayPolicy.RECENT, 1000);
        ReplayBuffer uniform = new ReplayBuffer(100_000, ReplayPolicy.UNIFORM, 1000);
        for (ReplayBuffer buffer : new ReplayBuffer[] {recent, uniform}) {
            for (int w = 0; w < 251; w++) {
                buffer.add(counting("a", w * 8L, 9)); // 251 windows, stride 8: tokens 0..2008
            }
        }
        assertThat(recent.size()).isEqualTo(2009);
        double recentShare = startsAtOrAbove(recent, 5, 200, 8, 1000) / 20_000.0;
        double uniformShare = startsAtOrAbove(uniform, 5, 200, 8, 1000) / 20_000.0;
        // exact: sum_{i<1001} q^i / sum_{i<2001} q^i = (1 - q^1001) / (1 - q^2001), q = 2^-1/1000
        double q = Math.pow(2, -1 / 1000.0);
        double expected = (1 - Math.pow(q, 1001)) / (1 - Math.pow(q, 2001));
        assertThat(expected).isCloseTo(2 / 3.0, org.assertj.core.data.Offset.offset(0.001));
        assertThat(recentShare).isCloseTo(expected, org.assertj.core.data.Offset.offset(0.0133));
        assertThat(uniformShare) // 1001 of 2001 starts
                .isCloseTo(1001 / 2001.0, org.assertj.core.data.Offset.offset(0.0141));
    }

    @Test
    void recentPolicyWeighsAnOlderRunByTwoToTheMinusItsAgeInHalfLives() {
        // run a: tokens 0..999, then run b (another partition): tokens 5000..5999. Block 8: 992
        // starts each; every start of a is 1000 tokens older than its counterpart in b, so with
        // H = 1000 b weighs 2x a: b's share 2/3, within 4 sd (0.0133) of 20,000 draws.
        ReplayBuffer buffer = new ReplayBuffer(100_000, ReplayPolicy.RECENT, 1000);
        buffer.add(counting("a", 0, 1000));
        buffer.add(counting("b", 5000, 1000));
        assertThat(buffer.runs()).hasSize(2);
        double share = startsAtOrAbove(buffer, 11, 200, 8, 5000) / 20_000.0;
        assertThat(share).isCloseTo(2 / 3.0, org.assertj.core.data.Offset.offset(0.0133));
    }

    @Test
    void uniformPolicyDrawsStartsAsBeforeTheRecentPolicyExisted() {
        // today's arithmetic, written out: pick = floor(u * total starts), run by running count
        ReplayBuffer buffer = new ReplayBuffer(100_000, ReplayPolicy.UNIFORM, 7);
        buffer.add(counting("a", 0, 100)); // 92 starts: 0..91
        buffer.add(counting("b", 5000, 50)); // 42 starts: 5000..5041
        Random expected = new Random(42);
        TokenCorpus.Batch batch = buffer.sample(new Random(42), 50, 8);
        for (int b = 0; b < 50; b++) {
            long pick = (long) (expected.nextDouble() * 134);
            long start = pick < 92 ? pick : 5000 + pick - 92;
            assertThat(batch.inputs()[b * 8]).isEqualTo(start);
        }
    }
}
