package io.streamgpt.connectors.chunks;

import org.apache.flink.api.common.typeinfo.TypeInfo;

import java.io.Serializable;

/**
 * What replica {@code replica} sends the parameter averager for one sync round: one slice of its
 * parameters after the round's local steps.
 *
 * @param version generation and round it contributes to
 * @param replica the sender
 * @param progress the sender's step, tokens and mean training loss of the round
 * @param baseChecksum CRC32 of the whole parameter vector this round's local steps started from:
 *     equal across replicas that adopted the same global model
 * @param slice the parameters; when {@code delta} carries them, only the slice's index and count
 *     (its values are empty)
 * @param delta null, or the slice's parameters as a compressed delta from a global model
 */
@TypeInfo(ModelChunkTypeInfo.ContributionFactory.class)
public record Contribution(
        RoundId version,
        int replica,
        Progress progress,
        long baseChecksum,
        Slice slice,
        EncodedDelta delta)
        implements ModelChunk, Serializable {

    /** A contribution of float32 parameters. */
    public Contribution(
            RoundId version, int replica, Progress progress, long baseChecksum, Slice slice) {
        this(version, replica, progress, baseChecksum, slice, null);
    }

    /** Values in the slice, whether sent as parameters or as a delta. */
    public int valueCount() {
        return delta == null ? slice.values().length : delta.count();
    }

    /** Every slice of {@code parameters}, cut every {@code chunkSize} values, as contributions. */
    public static Contribution[] of(
            RoundId version,
            int replica,
            Progress progress,
            long baseChecksum,
            float[] parameters,
            int chunkSize) {
        return of(
                version,
                replica,
                progress,
                baseChecksum,
                parameters,
                chunkSize,
                0,
                Slice.count(parameters.length, chunkSize));
    }

    /**
     * The slices {@code fromChunk} (inclusive) to {@code toChunk} (exclusive) of {@code
     * parameters}, as contributions: one fragment's ({@link Fragments}).
     */
    public static Contribution[] of(
            RoundId version,
            int replica,
            Progress progress,
            long baseChecksum,
            float[] parameters,
            int chunkSize,
            int fromChunk,
            int toChunk) {
        Contribution[] chunks = new Contribution[toChunk - fromChunk];
        for (int c = fromChunk; c < toChunk; c++) {
            chunks[c - fromChunk] =
                    new Contribution(
                            version,
                            replica,
                            progress,
                            baseChecksum,
                            Slice.of(parameters, c, chunkSize));
        }
        return chunks;
    }
}
