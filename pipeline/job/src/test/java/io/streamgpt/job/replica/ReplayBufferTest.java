package io.streamgpt.job.replica;

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
}
