package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.EncodedDelta;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;

import java.util.Arrays;

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
 * which is bounded by one quantisation step. With streamed fragments each round covers one
 * fragment's chunks, and the residual of the others waits for their next round. A contribution sent
 * as float32 parameters (no base the averager knows) carries everything of its range, so the
 * residual there goes back to 0.
 *
 * <p>The residual is not checkpointed, and needs not be: a restored replica starts a new
 * generation, whose first round of every fragment is float32 (the averager keeps no global model of
 * it yet), so the restored parameters go out whole and nothing is owed.
 */
final class DeltaCompressor {

    /** What every chunk of one contribution carries besides its values. */
    record Header(RoundId version, int replica, Progress progress, long baseChecksum) {}

    private final PayloadEncoding encoding;
    private final int chunkSize;
    private float[] residual;

    DeltaCompressor(PayloadEncoding encoding, int chunkSize) {
        if (encoding == PayloadEncoding.FP32) {
            throw new IllegalArgumentException("FP32 sends parameters, not a compressed delta");
        }
        this.encoding = encoding;
        this.chunkSize = chunkSize;
    }

    /**
     * Chunks {@code fromChunk} (inclusive) to {@code toChunk} (exclusive) of {@code local} as
     * compressed deltas from {@code base}, the global model of {@code baseVersion} there; updates
     * the residual of that range.
     */
    Contribution[] contribute(
            Header header,
            RoundId baseVersion,
            float[] base,
            float[] local,
            int fromChunk,
            int toChunk) {
        if (residual == null || residual.length != local.length) {
            residual = new float[local.length];
        }
        int count = Slice.count(local.length, chunkSize);
        Contribution[] chunks = new Contribution[toChunk - fromChunk];
        for (int c = fromChunk; c < toChunk; c++) {
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
            chunks[c - fromChunk] =
                    new Contribution(
                            header.version(),
                            header.replica(),
                            header.progress(),
                            header.baseChecksum(),
                            new Slice(c, count, new float[0]),
                            delta);
        }
        return chunks;
    }

    /** After float32 contributions of values {@code from} to {@code to}: nothing is owed there. */
    void reset(int from, int to) {
        if (residual != null) {
            Arrays.fill(residual, from, to, 0f);
        }
    }

    /** The residual now (for tests), or null before the first compressed round. */
    float[] residual() {
        return residual;
    }
}
