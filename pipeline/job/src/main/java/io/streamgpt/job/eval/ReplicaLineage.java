package io.streamgpt.job.eval;

import io.streamgpt.job.input.TokenWindow;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
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
 *
 * <p>All of it goes into the replica's checkpoint ({@link #write}, {@link #read}). After a restore
 * the contributions sealed before the checkpoint are reported in the restored generation, with the
 * first version of it that has their round or a later one: the round a replica was waiting for is
 * sent again in that generation ({@link #restoredIn}), and the records received before the
 * checkpoint (in the replica's replay buffer, never read from Kafka again) keep their timestamps.
 */
public final class ReplicaLineage {

    /** Records' timestamps kept per contribution for the histogram; min and max see them all. */
    static final int TIMESTAMPS_KEPT = 1 << 16;

    /** Contributions kept while their rounds are not published (the oldest goes first). */
    static final int UNPUBLISHED_KEPT = 16;

    /** What one contribution covered, until its round is published. */
    private record Sealed(
            LineageTally.Consumed report, long[] timestamps, long oldestMs, long newestMs) {

        /** Two replicas' contributions to one round, as one merged replica's. */
        Sealed and(Sealed other) {
            LineageTally.Consumed a = report;
            LineageTally.Consumed b = other.report();
            Map<String, Long> received = new HashMap<>(a.received());
            b.received().forEach((source, end) -> received.merge(source, end, Math::max));
            Map<String, Long> inputOffsets = new HashMap<>(a.inputOffsets());
            b.inputOffsets().forEach((source, next) -> inputOffsets.merge(source, next, Math::max));
            return new Sealed(
                    new LineageTally.Consumed(
                            a.generation(),
                            a.round(),
                            Math.max(a.step(), b.step()),
                            a.replica(),
                            a.tokens() + b.tokens(),
                            received,
                            inputOffsets,
                            null,
                            null),
                    concat(timestamps, other.timestamps()),
                    Math.min(oldestMs, other.oldestMs()),
                    Math.max(newestMs, other.newestMs()));
        }
    }

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
            boolean any = s.oldestMs() != Long.MAX_VALUE;
            reports.add(
                    s.report()
                            .withFreshness(
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

    // ---------------------------------------------------------------- checkpoints

    /**
     * The sealed contributions are reported as {@code replica}'s in {@code generation}: the
     * restored job's, in which the replica sends the round it waited for again.
     */
    public void restoredIn(int generation, int replica) {
        unpublished.replaceAll(
                (round, s) ->
                        new Sealed(
                                s.report().asOf(generation, replica),
                                s.timestamps(),
                                s.oldestMs(),
                                s.newestMs()));
    }

    /**
     * One lineage from those of several replicas whose state a subtask takes over (a restore with
     * fewer replicas): offsets at their maxima, every pending and sealed record's timestamp kept
     * (up to {@link #TIMESTAMPS_KEPT} pending), and contributions to the same round as one, their
     * tokens summed (each replica's count of all it trained, as the merged replica's count is).
     */
    public static ReplicaLineage merge(List<ReplicaLineage> lineages) {
        if (lineages.size() == 1) {
            return lineages.get(0);
        }
        ReplicaLineage merged = new ReplicaLineage();
        for (ReplicaLineage l : lineages) {
            l.tokenEnds.forEach((source, end) -> merged.tokenEnds.merge(source, end, Math::max));
            l.nextOffsets.forEach(
                    (source, next) -> merged.nextOffsets.merge(source, next, Math::max));
            for (int i = 0; i < l.pending && merged.pending < TIMESTAMPS_KEPT; i++) {
                if (merged.pending == merged.timestamps.length) {
                    merged.timestamps = Arrays.copyOf(merged.timestamps, 2 * merged.pending);
                }
                merged.timestamps[merged.pending++] = l.timestamps[i];
            }
            merged.oldestMs = Math.min(merged.oldestMs, l.oldestMs);
            merged.newestMs = Math.max(merged.newestMs, l.newestMs);
            l.unpublished.forEach((round, s) -> merged.unpublished.merge(round, s, Sealed::and));
        }
        while (merged.unpublished.size() > UNPUBLISHED_KEPT) {
            merged.unpublished.pollFirstEntry();
        }
        return merged;
    }

    /** Writes everything this lineage holds, for a checkpoint. */
    public void write(DataOutputStream out) throws IOException {
        writeOffsets(out, tokenEnds);
        writeOffsets(out, nextOffsets);
        writeTimestamps(out, Arrays.copyOf(timestamps, pending));
        out.writeLong(oldestMs);
        out.writeLong(newestMs);
        out.writeInt(unpublished.size());
        for (Sealed s : unpublished.values()) {
            LineageTally.Consumed r = s.report();
            out.writeInt(r.generation());
            out.writeLong(r.round());
            out.writeLong(r.step());
            out.writeInt(r.replica());
            out.writeLong(r.tokens());
            writeOffsets(out, r.received());
            writeOffsets(out, r.inputOffsets());
            writeTimestamps(out, s.timestamps());
            out.writeLong(s.oldestMs());
            out.writeLong(s.newestMs());
        }
    }

    /** A lineage as {@link #write} wrote it. */
    public static ReplicaLineage read(DataInputStream in) throws IOException {
        ReplicaLineage lineage = new ReplicaLineage();
        lineage.tokenEnds.putAll(readOffsets(in));
        lineage.nextOffsets.putAll(readOffsets(in));
        long[] pending = readTimestamps(in);
        lineage.timestamps = Arrays.copyOf(pending, Math.max(64, pending.length));
        lineage.pending = pending.length;
        lineage.oldestMs = in.readLong();
        lineage.newestMs = in.readLong();
        int sealed = in.readInt();
        for (int i = 0; i < sealed; i++) {
            LineageTally.Consumed report =
                    new LineageTally.Consumed(
                            in.readInt(),
                            in.readLong(),
                            in.readLong(),
                            in.readInt(),
                            in.readLong(),
                            readOffsets(in),
                            readOffsets(in),
                            null,
                            null);
            lineage.unpublished.put(
                    report.round(),
                    new Sealed(report, readTimestamps(in), in.readLong(), in.readLong()));
        }
        return lineage;
    }

    private static void writeOffsets(DataOutputStream out, Map<String, Long> offsets)
            throws IOException {
        out.writeInt(offsets.size());
        for (Map.Entry<String, Long> e : offsets.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue());
        }
    }

    private static Map<String, Long> readOffsets(DataInputStream in) throws IOException {
        int n = in.readInt();
        Map<String, Long> offsets = new HashMap<>();
        for (int i = 0; i < n; i++) {
            offsets.put(in.readUTF(), in.readLong());
        }
        return offsets;
    }

    private static void writeTimestamps(DataOutputStream out, long[] timestamps)
            throws IOException {
        out.writeInt(timestamps.length);
        for (long t : timestamps) {
            out.writeLong(t);
        }
    }

    private static long[] readTimestamps(DataInputStream in) throws IOException {
        long[] timestamps = new long[in.readInt()];
        for (int i = 0; i < timestamps.length; i++) {
            timestamps[i] = in.readLong();
        }
        return timestamps;
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
