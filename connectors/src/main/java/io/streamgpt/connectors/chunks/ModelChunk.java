package io.streamgpt.connectors.chunks;

import java.util.Arrays;
import java.util.Objects;

/**
 * One slice of a flat parameter vector on its way to or from the parameter averager.
 *
 * <p>A {@link Kind#CONTRIBUTION} is what replica {@code replica} sends for sync round {@code
 * round}; a {@link Kind#GLOBAL} chunk is the averaged result the averager writes to the model
 * topic. The {@code generation} tells rounds of the current run from those written before a
 * restore: replicas ignore chunks of another generation. Chunks are sized to stay well under
 * Kafka's 1 MB default message limit.
 *
 * @param kind contribution of one replica, or averaged global chunk
 * @param generation restore generation of the job that made it
 * @param round sync round: a replica's steps / sync_every
 * @param replica sender (contributions) or number of contributors (global)
 * @param chunk index of this slice
 * @param chunkCount slices of the whole vector
 * @param step the sender's optimizer step (global: the largest contributor step)
 * @param tokens training tokens the sender has consumed (global: sum over contributors)
 * @param loss the sender's mean training loss over the steps of this round (global: mean over
 *     contributors)
 * @param baseChecksum contributions: CRC32 of the whole parameter vector this round's local steps
 *     started from, equal across replicas that adopted the same global model; global: 0
 * @param replicaLosses global chunk 0 only: each replica's loss, NaN for one that missed the round
 * @param values the parameter slice
 */
public record ModelChunk(
        Kind kind,
        int generation,
        long round,
        int replica,
        int chunk,
        int chunkCount,
        long step,
        long tokens,
        float loss,
        long baseChecksum,
        float[] replicaLosses,
        float[] values) {

    public enum Kind {
        CONTRIBUTION,
        GLOBAL
    }

    public ModelChunk {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(values, "values");
        replicaLosses = replicaLosses == null ? new float[0] : replicaLosses;
        if (chunk < 0 || chunk >= chunkCount) {
            throw new IllegalArgumentException(
                    "chunk " + chunk + " outside 0.." + (chunkCount - 1));
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelChunk c
                && kind == c.kind
                && generation == c.generation
                && round == c.round
                && replica == c.replica
                && chunk == c.chunk
                && chunkCount == c.chunkCount
                && step == c.step
                && tokens == c.tokens
                && Float.compare(loss, c.loss) == 0
                && baseChecksum == c.baseChecksum
                && Arrays.equals(replicaLosses, c.replicaLosses)
                && Arrays.equals(values, c.values);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                kind,
                generation,
                round,
                replica,
                chunk,
                chunkCount,
                step,
                tokens,
                loss,
                baseChecksum,
                Arrays.hashCode(replicaLosses),
                Arrays.hashCode(values));
    }

    @Override
    public String toString() {
        return kind
                + "[gen "
                + generation
                + ", round "
                + round
                + ", replica "
                + replica
                + ", chunk "
                + chunk
                + "/"
                + chunkCount
                + ", step "
                + step
                + ", "
                + values.length
                + " values]";
    }
}
