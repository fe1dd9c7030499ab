package io.streamgpt.connectors.chunks;

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
 * @param slice the parameters
 */
public record Contribution(
        RoundId version, int replica, Progress progress, long baseChecksum, Slice slice)
        implements ModelChunk, Serializable {

    /** Every slice of {@code parameters}, cut every {@code chunkSize} values, as contributions. */
    public static Contribution[] of(
            RoundId version,
            int replica,
            Progress progress,
            long baseChecksum,
            float[] parameters,
            int chunkSize) {
        Contribution[] chunks = new Contribution[Slice.count(parameters.length, chunkSize)];
        for (int c = 0; c < chunks.length; c++) {
            chunks[c] =
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
