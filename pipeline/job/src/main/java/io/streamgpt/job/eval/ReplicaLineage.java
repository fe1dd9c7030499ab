package io.streamgpt.job.eval;

import io.streamgpt.job.input.TokenWindow;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One replica's side of lineage and freshness: what it has received, what each of its contributions
 * covered, and, when the round it contributed to is published (the replica adopts it from the model
 * topic), how long the text records it had newly received waited for that first published version.
 *
 * <p>Per source topic-partition it keeps the token offset after the newest window received ({@code
 * position + block_size + 1}) and the Kafka next offset of the newest text record that completed
 * one ({@link TokenWindow#nextOffset()}). A window whose record is newer than the last one seen
 * from its partition brings a new record: its Kafka timestamp joins those pending for the next
 * contribution. A contribution to round {@code r} seals the pending timestamps with a copy of the
 * offsets; when round {@code r} (or a later one) is published at time {@code T}, each sealed
 * record's freshness is
 *
 * <pre>
 *   freshness = max(0, T - timestamp)          (ms; clamped: a producer's clock may run ahead)
 * </pre>
 *
 * and the contribution's report ({@link LineageTally.Consumed}) carries the least and the greatest
 * of them: {@code T - newest timestamp} and {@code T - oldest timestamp}.
 *
 * <p>What a replica has received before a contribution is what its buffer could sample from, not
 * what a step did sample: freshness is from the record's timestamp to the first version that could
 * have trained on it. A record's timestamp is counted by each replica that receives one of its
 * windows, so a record split over replicas counts once per replica.
 */
public final class ReplicaLineage {

    /** Records' timestamps kept per contribution for the histogram; min and max see them all. */
    static final int TIMESTAMPS_KEPT = 1 << 16;

    /** Contributions kept while their rounds are not published (the oldest goes first). */
    static final int UNPUBLISHED_KEPT = 16;

    /** What one contribution covered, until its round is published. */
    private record Sealed(
            LineageTally.Consumed report, long[] timestamps, long oldestMs, long newestMs) {}

    /**
     * The reports of contributions whose round was published, and each record's freshness.
     *
     * @param reports one per contribution, freshness min and max filled in, oldest round first
     * @param freshnessMs every sealed record's freshness, for the histogram
     */
    public record Published(List<LineageTally.Consumed> reports, long[] freshnessMs) {}

    private final Map<String, Long> tokenEnds = new HashMap<>();
    private final Map<String, Long> nextOffsets = new HashMap<>();
    private long[] timestamps = new long[64];
    private int pending;
    private long oldestMs = Long.MAX_VALUE;
    private long newestMs = Long.MIN_VALUE;
    private final TreeMap<Long, Sealed> unpublished = new TreeMap<>();

    /** A window the replica received (before it enters the replay buffer). */
    public void received(TokenWindow window) {
        String source = window.source();
        tokenEnds.merge(source, window.position() + window.tokens().length, Math::max);
        if (window.nextOffset() == TokenWindow.UNKNOWN) {
            return;
        }
        Long last = nextOffsets.get(source);
        if (last != null && window.nextOffset() <= last) {
            return; // another window of a record already seen
        }
        nextOffsets.put(source, window.nextOffset());
        long ts = window.timestampMs();
        if (ts == TokenWindow.UNKNOWN) {
            return;
        }
        oldestMs = Math.min(oldestMs, ts);
        newestMs = Math.max(newestMs, ts);
        if (pending < TIMESTAMPS_KEPT) {
            if (pending == timestamps.length) {
                timestamps = Arrays.copyOf(timestamps, 2 * pending);
            }
            timestamps[pending++] = ts;
        }
    }

    /**
     * The replica contributes to {@code round}: what it has received so far is sealed for that
     * round.
     *
     * @param tokens tokens this replica has trained on in all
     */
    public void contributed(int generation, long round, long step, int replica, long tokens) {
        LineageTally.Consumed report =
                new LineageTally.Consumed(
                        generation,
                        round,
                        step,
                        replica,
                        tokens,
                        new HashMap<>(tokenEnds),
                        new HashMap<>(nextOffsets),
                        null,
                        null);
        Sealed previous = unpublished.get(round); // a resend: keep what the first one sealed too
        long[] sealed = Arrays.copyOf(timestamps, pending);
        long oldest = oldestMs;
        long newest = newestMs;
        if (previous != null) {
            sealed = concat(previous.timestamps(), sealed);
            oldest = Math.min(oldest, previous.oldestMs());
            newest = Math.max(newest, previous.newestMs());
        }
        unpublished.put(round, new Sealed(report, sealed, oldest, newest));
        while (unpublished.size() > UNPUBLISHED_KEPT) {
            unpublished.pollFirstEntry();
        }
        pending = 0;
        oldestMs = Long.MAX_VALUE;
        newestMs = Long.MIN_VALUE;
    }

    /**
     * Round {@code round} is published at {@code nowMs}: the contributions to it and to any earlier
     * round not yet published (this is the first version that has them) are reported.
     */
    public Published published(long round, long nowMs) {
        List<LineageTally.Consumed> reports = new ArrayList<>();
        long[] freshness = new long[0];
        var due = unpublished.headMap(round, true);
        for (Sealed s : due.values()) {
            LineageTally.Consumed r = s.report();
            boolean any = s.oldestMs() != Long.MAX_VALUE;
            reports.add(
                    new LineageTally.Consumed(
                            r.generation(),
                            r.round(),
                            r.step(),
                            r.replica(),
                            r.tokens(),
                            r.received(),
                            r.inputOffsets(),
                            any ? lag(nowMs, s.newestMs()) : null,
                            any ? lag(nowMs, s.oldestMs()) : null));
            long[] lags = new long[s.timestamps().length];
            for (int i = 0; i < lags.length; i++) {
                lags[i] = lag(nowMs, s.timestamps()[i]);
            }
            freshness = concat(freshness, lags);
        }
        due.clear();
        return new Published(reports, freshness);
    }

    private static long lag(long nowMs, long timestampMs) {
        return Math.max(0, nowMs - timestampMs);
    }

    private static long[] concat(long[] a, long[] b) {
        long[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
