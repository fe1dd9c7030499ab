package io.streamgpt.connectors.chunks;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * Model chunks a reader dropped, counted by reason; as Flink counters {@code
 * model_chunks_rejected_<reason>} once bound to an operator's metric group. A dropped chunk is
 * never thrown on and never allocates reader state.
 */
public final class ModelChunkRejections {

    /** Why a chunk was dropped. */
    public enum Reason {
        /** No {@value ModelLoopAuthenticator#HEADER} header, or more than one. */
        UNSIGNED,
        /** A tag that is not the chunk's under the job's key. */
        BAD_SIGNATURE,
        /** Signed, but not a parseable model chunk. */
        MALFORMED,
        /** Signed, but a contribution: only global chunks travel on the model topic. */
        NOT_GLOBAL,
        /** Chunk count, index or length that do not cut the reader's model. */
        LAYOUT,
        /** Another generation, or a round already complete or superseded. */
        STALE,
        /** A new round while the most rounds kept are in flight: the furthest ahead is dropped. */
        TOO_MANY_ROUNDS;

        public String metricName() {
            return "model_chunks_rejected_" + name().toLowerCase(Locale.ROOT);
        }
    }

    private final Map<Reason, SimpleCounter> counters = new EnumMap<>(Reason.class);

    public ModelChunkRejections() {
        for (Reason reason : Reason.values()) {
            counters.put(reason, new SimpleCounter());
        }
    }

    /**
     * Registers the counters of {@code reasons} (the ones this reader can see) on {@code group}.
     */
    public ModelChunkRejections bindTo(MetricGroup group, Reason... reasons) {
        for (Reason reason : reasons) {
            group.counter(reason.metricName(), (Counter) counters.get(reason));
        }
        return this;
    }

    /** Counts one chunk dropped for {@code reason}; returns how many were, this one included. */
    public long reject(Reason reason) {
        SimpleCounter counter = counters.get(reason);
        counter.inc();
        return counter.getCount();
    }

    public long count(Reason reason) {
        return counters.get(reason).getCount();
    }

    public long total() {
        return counters.values().stream().mapToLong(SimpleCounter::getCount).sum();
    }

    /** Whether to log the {@code n}th rejection of a reason: the 1st, 2nd, 4th, 8th, ... */
    public static boolean worthLogging(long n) {
        return Long.bitCount(n) == 1;
    }
}
