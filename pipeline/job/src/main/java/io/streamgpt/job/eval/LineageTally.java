package io.streamgpt.job.eval;

import io.streamgpt.connectors.records.EvalRecords;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What each global version trained on, from the replicas' reports of their contributions (made when
 * the version is published, {@link ReplicaLineage}): per source topic-partition, the end of the
 * newest window any replica had received when it contributed (a token offset in that partition's
 * token stream: {@code position + block_size + 1} of the window) and the Kafka next offset of the
 * newest text record such a window came from; the tokens trained summed over the replicas; and the
 * freshness of the records newly received for it (least and greatest over the replicas: {@code
 * publish time - record timestamp}). Offsets are kept as a running maximum over versions, so a
 * version names everything it and its ancestors saw. A version is complete when every replica
 * reported it, a report two rounds later arrives (as in {@link PrequentialTally}) or a report of a
 * later generation does.
 *
 * <p>A checkpoint keeps the running maxima and the reports of rounds still open ({@link #seen()}):
 * after a restore a partition no replica receives from any more (a topic that stopped) is still
 * named at the offset versions had reached, and a version published before the checkpoint whose
 * round was still open gets its record when the first report of the restored generation closes it,
 * with the reports that had arrived.
 */
public final class LineageTally {

    /**
     * One replica's contribution to {@code round}: what it had received and trained.
     *
     * @param received per source topic-partition, the token offset after its newest window
     * @param tokens tokens this replica has trained on in all
     * @param inputOffsets per source topic-partition, the Kafka next offset of the newest text
     *     record whose windows it had received
     * @param freshnessMinMs publish time minus the newest Kafka timestamp among the records it
     *     received since its previous contribution; null when there were none (or before
     *     publication)
     * @param freshnessMaxMs the same for the oldest such record
     */
    public record Consumed(
            int generation,
            long round,
            long step,
            int replica,
            long tokens,
            Map<String, Long> received,
            Map<String, Long> inputOffsets,
            Long freshnessMinMs,
            Long freshnessMaxMs)
            implements Serializable {

        /** This report with its freshness filled in (at publication). */
        public Consumed withFreshness(Long minMs, Long maxMs) {
            return new Consumed(
                    generation, round, step, replica, tokens, received, inputOffsets, minMs, maxMs);
        }

        /** This report as replica {@code replica}'s in {@code generation} (after a restore). */
        public Consumed asOf(int generation, int replica) {
            return new Consumed(
                    generation,
                    round,
                    step,
                    replica,
                    tokens,
                    received,
                    inputOffsets,
                    freshnessMinMs,
                    freshnessMaxMs);
        }
    }

    /**
     * What a checkpoint keeps of a tally: the generation, the running maxima per source
     * topic-partition and the reports of the rounds still open.
     *
     * @param open null in checkpoints of builds before 2026-12-02 (none kept)
     */
    public record Seen(
            int generation,
            Map<String, Long> offsets,
            Map<String, Long> inputOffsets,
            List<Consumed> open)
            implements Serializable {}

    private final int replicas;
    private final TreeMap<Long, List<Consumed>> open = new TreeMap<>();
    private final Map<String, Long> seen = new HashMap<>();
    private final Map<String, Long> inputSeen = new HashMap<>();
    private int generation;

    public LineageTally(int replicas) {
        this.replicas = replicas;
    }

    /** The tally's running maxima now, for a checkpoint. */
    public Seen seen() {
        List<Consumed> reports = new ArrayList<>();
        open.values().forEach(reports::addAll);
        return new Seen(generation, new TreeMap<>(seen), new TreeMap<>(inputSeen), reports);
    }

    /** Takes the running maxima of a checkpoint (of one or more tallies) back. */
    public void restore(Seen checkpointed) {
        if (checkpointed.generation() > generation) {
            open.clear(); // a tally of an older generation's open rounds: they never close
        }
        generation = Math.max(generation, checkpointed.generation());
        checkpointed.offsets().forEach((source, end) -> seen.merge(source, end, Math::max));
        checkpointed
                .inputOffsets()
                .forEach((source, next) -> inputSeen.merge(source, next, Math::max));
        if (checkpointed.open() != null && checkpointed.generation() == generation) {
            for (Consumed c : checkpointed.open()) {
                open.computeIfAbsent(c.round(), r -> new ArrayList<>()).add(c);
            }
        }
    }

    /** Adds a replica's report; returns the lineage records it completes, oldest first. */
    public List<EvalRecords.Lineage> add(Consumed consumed) {
        List<EvalRecords.Lineage> done = new ArrayList<>();
        if (consumed.generation() < generation) {
            return done; // a round of a generation before a restore
        }
        if (consumed.generation() > generation) {
            // no more reports come for the old generation's open rounds: they close as they are
            for (Map.Entry<Long, List<Consumed>> entry : open.entrySet()) {
                done.add(record(entry.getKey(), entry.getValue()));
            }
            open.clear();
            generation = consumed.generation();
        }
        open.computeIfAbsent(consumed.round(), r -> new ArrayList<>()).add(consumed);
        for (Map.Entry<Long, List<Consumed>> entry : new ArrayList<>(open.entrySet())) {
            if (entry.getValue().size() >= replicas || entry.getKey() + 2 <= consumed.round()) {
                open.remove(entry.getKey());
                done.add(record(entry.getKey(), entry.getValue()));
            }
        }
        return done;
    }

    private EvalRecords.Lineage record(long round, List<Consumed> reports) {
        long tokens = 0;
        long step = 0;
        Long freshnessMin = null;
        Long freshnessMax = null;
        for (Consumed c : reports) {
            tokens += c.tokens();
            step = Math.max(step, c.step());
            c.received().forEach((source, end) -> seen.merge(source, end, Math::max));
            c.inputOffsets().forEach((source, next) -> inputSeen.merge(source, next, Math::max));
            if (c.freshnessMinMs() != null) {
                freshnessMin =
                        freshnessMin == null
                                ? c.freshnessMinMs()
                                : Math.min(freshnessMin, c.freshnessMinMs());
                freshnessMax =
                        freshnessMax == null
                                ? c.freshnessMaxMs()
                                : Math.max(freshnessMax, c.freshnessMaxMs());
            }
        }
        return new EvalRecords.Lineage(
                EvalRecords.LINEAGE,
                EvalRecords.LINEAGE_FORMAT,
                step,
                round,
                generation,
                tokens,
                new TreeMap<>(seen),
                new TreeMap<>(inputSeen),
                freshnessMin,
                freshnessMax,
                System.currentTimeMillis());
    }
}
