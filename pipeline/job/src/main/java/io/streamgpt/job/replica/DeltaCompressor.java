package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.EncodedDelta;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;

/**
 * A replica's compressed contributions with error feedback: it sends the delta from the global
 * model it adopted, compressed ({@code BF16} or {@code INT8}, see {@link PayloadEncoding}), and
 * carries what the compression lost into the next round, so that nothing is lost for good (as in
 * 1-bit SGD, Seide et al. 2014, and DiLoCo's compressed variants):
 *
 * <pre>
 *   t   = (local - base) + e        e: the residual, 0 at first
 *   q   = Q(t)                      sent, chunk by chunk
 *   e'  = t - D(q)                  kept for the next round
 *   averager:  x_r = base + D(q_r)  (base: the global model it produced for that version)
 * </pre>
 *
 * Over rounds, the sum of what was sent equals the sum of the true deltas up to the last residual,
 * which is bounded by one quantisation step. A contribution sent as float32 parameters (no base the
 * averager knows) carries everything, so the residual goes back to 0. The residual is not
 * checkpointed: a restored replica starts again at 0, losing at most one quantisation step.
 */
final class DeltaCompressor {

    private final PayloadEncoding encoding;
    private float[] residual;

    DeltaCompressor(PayloadEncoding encoding) {
        if (encoding == PayloadEncoding.FP32) {
            throw new IllegalArgumentException("FP32 sends parameters, not a compressed delta");
        }
        this.encoding = encoding;
    }

    /**
     * The contributions of {@code local} as compressed deltas from {@code base}, the global model
     * of {@code baseVersion}; updates the residual.
     */
    Contribution[] contribute(
            RoundId version,
            int replica,
            Progress progress,
            long baseChecksum,
            RoundId baseVersion,
            float[] base,
            float[] local,
            int chunkSize) {
        if (residual == null || residual.length != local.length) {
            residual = new float[local.length];
        }
        int count = Slice.count(local.length, chunkSize);
        Contribution[] chunks = new Contribution[count];
        for (int c = 0; c < count; c++) {
            int from = c * chunkSize;
            int n = Math.min(chunkSize, local.length - from);
            float[] target = new float[n]; // t = (local - base) + e
            for (int i = 0; i < n; i++) {
                target[i] = local[from + i] - base[from + i] + residual[from + i];
            }
            EncodedDelta delta = EncodedDelta.of(baseVersion, encoding, target);
            float[] sent = delta.decode();
            for (int i = 0; i < n; i++) {
                residual[from + i] = target[i] - sent[i]; // e' = t - D(q)
            }
            chunks[c] =
                    new Contribution(
                            version,
                            replica,
                            progress,
                            baseChecksum,
                            new Slice(c, count, new float[0]),
                            delta);
        }
        return chunks;
    }

    /** After a float32 contribution: it carried everything, nothing is owed. */
    void reset() {
        residual = null;
    }

    /** The residual now (for tests), or null. */
    float[] residual() {
        return residual;
    }
}
