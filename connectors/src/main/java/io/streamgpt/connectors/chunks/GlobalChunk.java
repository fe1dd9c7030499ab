package io.streamgpt.connectors.chunks;

import org.apache.flink.api.common.typeinfo.TypeInfo;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * One slice of an averaged global model version, as the parameter averager writes it to the model
 * topic. Replicas, the evaluator, the prompt responder and {@code export} assemble versions from
 * these.
 *
 * @param version generation and round
 * @param contributors replicas averaged into it
 * @param progress the largest contributor step, the tokens of all, their mean loss
 * @param replicaLosses chunk 0 only (else empty): each replica's loss, NaN for one that missed the
 *     round
 * @param slice the averaged parameters
 */
@TypeInfo(ModelChunkTypeInfo.GlobalChunkFactory.class)
public record GlobalChunk(
        RoundId version, int contributors, Progress progress, float[] replicaLosses, Slice slice)
        implements ModelChunk, Serializable {

    public GlobalChunk {
        replicaLosses = replicaLosses == null ? new float[0] : replicaLosses;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GlobalChunk g
                && version.equals(g.version)
                && contributors == g.contributors
                && progress.equals(g.progress)
                && Arrays.equals(replicaLosses, g.replicaLosses)
                && slice.equals(g.slice);
    }

    @Override
    public int hashCode() {
        return Objects.hash(version, contributors, progress, Arrays.hashCode(replicaLosses), slice);
    }
}
