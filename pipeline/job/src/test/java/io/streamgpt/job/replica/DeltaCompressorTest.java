package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Compressed deltas with error feedback, round by round, with the arithmetic written out. */
class DeltaCompressorTest {

    private static final DeltaCompressor.Header ROUND_2 =
            new DeltaCompressor.Header(new RoundId(0, 2), 0, new Progress(20, 0, 1f), 0L);

    /** Every chunk (of 2 values) of {@code local} as a delta from round 1's {@code base}. */
    private static Contribution[] send(DeltaCompressor c, float[] base, float[] local) {
        return c.contribute(ROUND_2, new RoundId(0, 1), base, local, 0, (local.length + 1) / 2);
    }

    @Test
    void int8CarriesWhatItCouldNotSendIntoTheNextRound() {
        DeltaCompressor c = new DeltaCompressor(PayloadEncoding.INT8, 2);
        float[] base = {10f, 10f, 10f};
        // round 1: local - base = (1, -2 | 0.5), chunks of 2. Chunk 0: s = 2/127,
        // q = (round(63.5), -127) = (64, -127), sent (128/127, -2), residual (-1/127, 0).
        // Chunk 1: s = 0.5/127, q = 127, sent 0.5, residual 0.
        Contribution[] first = send(c, base, new float[] {11f, 8f, 10.5f});
        assertThat(first).hasSize(2);
        assertThat(first[0].delta().base()).isEqualTo(new RoundId(0, 1));
        float[] sent = first[0].delta().decode();
        assertThat(sent[0]).isCloseTo(128f / 127, within(1e-6f));
        assertThat(sent[1]).isCloseTo(-2f, within(1e-6f));
        assertThat(c.residual()[0]).isCloseTo(-1f / 127, within(1e-6f));
        assertThat(c.residual()[1]).isCloseTo(0f, within(1e-6f));
        // round 2, the same local progress: t = (1 - 1/127, -2); the residual goes into it, so
        // the two rounds together sent 2 x (1, -2) up to the last residual (<= s / 2)
        Contribution[] second = send(c, base, new float[] {11f, 8f, 10.5f});
        float total = sent[0] + second[0].delta().decode()[0];
        assertThat(total + c.residual()[0]).isCloseTo(2f, within(1e-5f));
        assertThat(Math.abs(c.residual()[0])).isLessThanOrEqualTo(2f / 127 / 2 + 1e-6f);
    }

    @Test
    void bf16SendsHalfTheBytesAndAFloat32ContributionClearsTheResidual() {
        DeltaCompressor c = new DeltaCompressor(PayloadEncoding.BF16, 2);
        // delta 3/512 above 0: bf16 of 1 + 3/512 is 1 + 1/128 (see PayloadEncodingTest); here the
        // delta itself, 3/512 = 1.5 x 2^-8, is exact in bf16, so nothing is owed
        Contribution[] chunks = send(c, new float[] {1f, 1f}, new float[] {1f + 3f / 512, 1f});
        assertThat(chunks[0].delta().bytes()).hasSize(2 * 2);
        assertThat(chunks[0].delta().decode()).containsExactly(3f / 512, 0f);
        assertThat(c.residual()).containsExactly(0f, 0f);
        // a delta of 1 + 2^-8 rounds (ties to even) to 1: the residual keeps the 2^-8
        send(c, new float[] {0f, 0f}, new float[] {1f + 1f / 256, 0f});
        assertThat(c.residual()[0]).isEqualTo(1f / 256);
        c.reset(0, 2);
        assertThat(c.residual()).containsExactly(0f, 0f);
    }

    @Test
    void aFragmentsDeltaCoversOnlyItsChunksAndTheOtherChunksResidualWaitsForTheirRound() {
        DeltaCompressor c = new DeltaCompressor(PayloadEncoding.BF16, 2);
        float[] base = {0f, 0f, 0f, 0f};
        // values 0-1 are chunk 0, 2-3 chunk 1; both deltas 1 + 2^-8 leave a residual of 2^-8
        float d = 1f + 1f / 256;
        send(c, base, new float[] {d, 0f, d, 0f});
        assertThat(c.residual()).containsExactly(1f / 256, 0f, 1f / 256, 0f);
        // a round of the second fragment only (chunk 1), local value 2 back at the base
        Contribution[] second =
                c.contribute(ROUND_2, new RoundId(0, 1), base, new float[] {d, 0f, 0f, 0f}, 1, 2);
        assertThat(second).hasSize(1);
        assertThat(second[0].chunk()).isEqualTo(1);
        assertThat(second[0].slice().count()).isEqualTo(2);
        // chunk 1's target: (0 - 0) + 2^-8 = 2^-8, exact in bf16, so it is sent and nothing is owed
        assertThat(second[0].delta().decode()).containsExactly(1f / 256, 0f);
        // chunk 0 was not in the round: its 2^-8 is still owed, for its own fragment's round
        assertThat(c.residual()).containsExactly(1f / 256, 0f, 0f, 0f);
        // a float32 round of the first fragment (values 0 and 1) clears what is owed there only
        DeltaCompressor other = new DeltaCompressor(PayloadEncoding.BF16, 2);
        send(other, base, new float[] {d, 0f, d, 0f});
        other.reset(0, 2);
        assertThat(other.residual()).containsExactly(0f, 0f, 1f / 256, 0f);
    }
}
