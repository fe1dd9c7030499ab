package io.streamgpt.connectors.chunks;

import java.io.Serializable;
import java.util.Comparator;

/**
 * A global model version: the restore generation of the job that made it and its sync round. A
 * restored job writes a higher generation, so versions order by generation, then round.
 *
 * @param generation restore generation: 0 for a new job, one more after every restore
 * @param round sync round: a replica's steps / sync_every
 */
public record RoundId(int generation, long round) implements Comparable<RoundId>, Serializable {

    private static final Comparator<RoundId> ORDER =
            Comparator.comparingInt(RoundId::generation).thenComparingLong(RoundId::round);

    @Override
    public int compareTo(RoundId other) {
        return ORDER.compare(this, other);
    }

    @Override
    public String toString() {
        return generation + ":" + round;
    }
}
