package io.streamgpt.connectors.chunks;

/**
 * A message of the synchronisation loop: a slice of a flat parameter vector on its way to the
 * parameter averager ({@link Contribution}) or back from it on the model topic ({@link
 * GlobalChunk}). Chunks are sized to stay well under Kafka's 1 MB default message limit; {@link
 * ModelChunkFormat} is their binary form.
 */
public sealed interface ModelChunk permits Contribution, GlobalChunk {

    /** The model version this chunk belongs to. */
    RoundId version();

    Progress progress();

    Slice slice();

    default int generation() {
        return version().generation();
    }

    default long round() {
        return version().round();
    }

    /** The slice's index: what the averager is keyed by. */
    default int chunk() {
        return slice().index();
    }
}
