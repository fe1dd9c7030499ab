package io.streamgpt.job.sync;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.EncodedDelta;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.job.config.SyncConfig;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Averages one chunk of the parameter vector (the key) over the replicas, round by round, and
 * applies the outer optimizer. A round closes when all N replicas contributed, or when the sync
 * timeout passes after its first contribution, averaging what arrived: a starved or slow replica
 * stalls the others for at most the timeout per round. Everything it keeps is keyed state, so it is
 * checkpointed and scales with the number of chunks. A contribution may be a compressed delta from
 * the global model this averager made ({@code --sync-encoding}); it is decoded against the float32
 * global model kept for the chunk, which stays float32.
 *
 * <p>A {@link DivergenceGuard} decides which contributions are averaged in: non-finite ones are
 * rejected as they arrive, outliers when the round closes; a rejected contribution still counts as
 * arrived, so the round closes without waiting for its timeout. A round that would publish a
 * non-finite chunk publishes the previous global chunk instead.
 */
public final class ParameterAverager
        extends KeyedProcessFunction<Integer, Contribution, GlobalChunk> {

    /** The running sum of one round's contributions to this chunk. */
    public static final class RoundSum {
        public int generation;
        public long round;
        public int chunkCount;
        public float[] sum;
        public double sumOfSquares;
        public int count;
        public long[] contributors; // bit set of replica indices
        public float[] losses; // chunk 0 only: each replica's loss, NaN when absent
        public long maxStep;
        public long tokens;
        public long deadline;
        public int arrived; // contributions received, rejected ones too: count is those averaged
        public float[][] parts; // per replica, while outliers are detected: what close may take out
        public double[] distances; // per replica: |x_r - previous global|, NaN if not kept

        public RoundSum() {}
    }

    /** The newest generation seen and the last round of it closed for this chunk. */
    public static final class Closed {
        public int generation;
        public long round;

        public Closed() {}

        Closed(int generation, long round) {
            this.generation = generation;
            this.round = round;
        }
    }

    private final SyncConfig sync;
    private final int replicas;

    private transient MapState<Long, RoundSum> rounds;
    private transient ValueState<Closed> closed;
    private transient ValueState<float[]> previousGlobal;
    private transient ValueState<float[]> momentum;
    private transient ValueState<Closed> globalVersion; // the version previousGlobal is
    private transient Counter undecodableDeltas;
    private transient Counter closedRounds;
    private transient Counter partialRounds;
    private transient Counter lateContributions;
    private transient volatile double divergence;
    private transient DivergenceGuard guard;
    private transient ValueState<Double> medianDistance;
    private transient Counter rejectedNonFinite;
    private transient Counter rejectedOutliers;
    private transient Counter keptPrevious;

    private static final org.slf4j.Logger LOG =
            org.slf4j.LoggerFactory.getLogger(ParameterAverager.class);

    /**
     * @param sync the round timeout and the outer optimizer
     * @param replicas contributors that close a round before its timeout
     */
    public ParameterAverager(SyncConfig sync, int replicas) {
        this.sync = sync;
        this.replicas = replicas;
    }

    @Override
    public void open(OpenContext context) {
        rounds =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<>(
                                        "rounds", Types.LONG, TypeInformation.of(RoundSum.class)));
        closed =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "closed", TypeInformation.of(Closed.class)));
        previousGlobal =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "global",
                                        PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO));
        momentum =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "momentum",
                                        PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO));
        globalVersion =
                getRuntimeContext()
                        .getState(
                                new ValueStateDescriptor<>(
                                        "global-version", TypeInformation.of(Closed.class)));
        var metrics = getRuntimeContext().getMetricGroup();
        undecodableDeltas = metrics.counter("undecodable_deltas");
        closedRounds = metrics.counter("rounds_closed");
        partialRounds = metrics.counter("rounds_closed_by_timeout");
        lateContributions = metrics.counter("late_contributions");
        metrics.gauge("replica_divergence_l2", () -> divergence);
        openGuard();
    }

    private void openGuard() {
        guard = new DivergenceGuard(sync.outlierFactor());
        medianDistance =
                getRuntimeContext()
                        .getState(new ValueStateDescriptor<>("median-distance", Types.DOUBLE));
        var metrics = getRuntimeContext().getMetricGroup();
        rejectedNonFinite = metrics.counter("contributions_rejected_non_finite");
        rejectedOutliers = metrics.counter("contributions_rejected_outlier");
        keptPrevious = metrics.counter("rounds_kept_previous_global");
    }

    @Override
    public void processElement(Contribution chunk, Context ctx, Collector<GlobalChunk> out)
            throws Exception {
        Closed last = closed.value();
        if (last == null
                || chunk.generation()
                        > last.generation) { // first contribution, or a restored job's
            last = new Closed(chunk.generation(), 0);
            closed.update(last);
            dropRoundsBefore(chunk.generation());
        }
        if (chunk.generation() < last.generation || chunk.round() <= last.round) {
            lateContributions.inc(); // its round already closed, or it predates a restore
            return;
        }
        float[] values = parameters(chunk);
        if (values == null) {
            undecodableDeltas.inc(); // a delta from a global model this chunk no longer keeps
            return;
        }
        RoundSum sum = rounds.get(chunk.round());
        if (sum != null && sum.generation != chunk.generation()) {
            sum = null; // a round number reused after a restore
        }
        if (sum == null) {
            sum = newRound(chunk, ctx.timerService().currentProcessingTime());
            ctx.timerService().registerProcessingTimeTimer(sum.deadline);
        }
        if (!screen(sum, chunk, values)) {
            return; // a repeated contribution
        }
        if (sum.arrived == replicas) {
            close(sum, ctx.getCurrentKey(), out);
        } else {
            rounds.put(chunk.round(), sum);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<GlobalChunk> out)
            throws Exception {
        List<RoundSum> due = new ArrayList<>();
        for (RoundSum sum : rounds.values()) {
            if (sum.deadline <= timestamp) {
                due.add(sum);
            }
        }
        due.sort((a, b) -> Long.compare(a.round, b.round));
        for (RoundSum sum : due) {
            partialRounds.inc();
            close(sum, ctx.getCurrentKey(), out);
        }
    }

    private RoundSum newRound(Contribution chunk, long now) {
        RoundSum sum = new RoundSum();
        sum.generation = chunk.generation();
        sum.round = chunk.round();
        sum.chunkCount = chunk.slice().count();
        sum.sum = new float[chunk.valueCount()];
        sum.contributors = new long[(replicas + 63) / 64];
        sum.losses = new float[carriesLosses(chunk.slice()) ? replicas : 0];
        Arrays.fill(sum.losses, Float.NaN);
        sum.deadline = now + sync.timeoutMs();
        return sum;
    }

    /**
     * Whether this chunk's global chunks carry the replicas' losses: chunk 0, or with fragments the
     * first chunk of each fragment, so that every round has them.
     */
    private boolean carriesLosses(Slice slice) {
        int fragments = Math.min(sync.fragments(), slice.count());
        return new io.streamgpt.connectors.chunks.Fragments(fragments, slice.count())
                .isFirstChunk(slice.index());
    }

    /**
     * The contribution's parameters: as sent, or, for a compressed delta from the global model of
     * version b, {@code global_b + decode(delta)}; null when this chunk's kept global model is not
     * b's.
     */
    private float[] parameters(Contribution chunk) throws Exception {
        EncodedDelta delta = chunk.delta();
        if (delta == null) {
            return chunk.slice().values();
        }
        Closed kept = globalVersion.value();
        float[] base = previousGlobal.value();
        if (kept == null
                || base == null
                || kept.generation != delta.base().generation()
                || kept.round != delta.base().round()
                || base.length != delta.count()) {
            return null;
        }
        return delta.applyTo(base);
    }

    /**
     * Adds a contribution (its decoded {@code values}) that the divergence guard accepts, or
     * records a rejected one as arrived; false if this replica already contributed to the round.
     */
    private boolean screen(RoundSum sum, Contribution chunk, float[] values) throws Exception {
        // one read of the values: finiteness, squares, and the distance the outlier test needs
        DivergenceGuard.Measure measure =
                DivergenceGuard.measure(
                        values, guard.detectsOutliers() ? previousGlobal.value() : null);
        DivergenceGuard.Verdict verdict = DivergenceGuard.screen(chunk.progress().loss(), measure);
        if (verdict == DivergenceGuard.Verdict.ACCEPTED) {
            if (!add(sum, chunk, values, measure.squares())) {
                return false;
            }
            if (guard.detectsOutliers()) {
                int r = chunk.replica();
                if (sum.parts == null) {
                    sum.parts = new float[replicas][];
                    sum.distances = new double[replicas];
                    Arrays.fill(sum.distances, Double.NaN);
                }
                sum.parts[r] = values;
                sum.distances[r] = measure.distance();
            }
            return true;
        }
        int r = chunk.replica();
        if ((sum.contributors[r / 64] & (1L << (r % 64))) != 0) {
            return false;
        }
        sum.contributors[r / 64] |= 1L << (r % 64);
        sum.arrived++;
        if (sum.losses.length > 0) {
            sum.losses[r] = Float.NaN; // not part of the average
        }
        sum.maxStep = Math.max(sum.maxStep, chunk.progress().step());
        rejectedNonFinite.inc();
        LOG.warn(
                "rejected replica {}'s chunk {} of round {} (generation {}): {}",
                r,
                chunk.chunk(),
                chunk.round(),
                chunk.generation(),
                verdict);
        return true;
    }

    /**
     * Takes the outliers among the round's accepted contributions out of its sum (the divergence
     * guard's second test), and remembers the median distance of the rest for the next round.
     */
    private void dropOutliers(RoundSum sum, int chunk) throws Exception {
        if (sum.parts == null || sum.count < 2) {
            return;
        }
        List<Integer> kept = new ArrayList<>();
        for (int r = 0; r < replicas; r++) {
            if (sum.parts[r] != null) {
                kept.add(r);
            }
        }
        double[] distances = kept.stream().mapToDouble(r -> sum.distances[r]).toArray();
        Double floor = medianDistance.value();
        List<Integer> outliers = guard.outliers(distances, floor == null ? 0 : floor);
        for (int index : outliers) {
            int r = kept.get(index);
            rejectedOutliers.inc();
            LOG.warn(
                    "rejected replica {}'s chunk {} of round {} (generation {}): OUTLIER, distance"
                            + " {} from the previous global chunk, median of the others {}",
                    r,
                    chunk,
                    sum.round,
                    sum.generation,
                    sum.distances[r],
                    DivergenceGuard.median(
                            kept.stream()
                                    .filter(s -> s != r)
                                    .mapToDouble(s -> sum.distances[s])
                                    .toArray()));
        }
        List<Integer> rest = new ArrayList<>();
        for (int i = 0; i < kept.size(); i++) {
            if (!outliers.contains(i)) {
                rest.add(kept.get(i));
            }
        }
        if (!outliers.isEmpty()) { // the sum again, of the rest: exact, unlike subtracting
            Arrays.fill(sum.sum, 0f);
            sum.sumOfSquares = 0;
            for (int r : rest) {
                float[] values = sum.parts[r];
                for (int i = 0; i < values.length; i++) {
                    sum.sum[i] += values[i];
                    sum.sumOfSquares += (double) values[i] * values[i];
                }
            }
            sum.count = rest.size();
        }
        medianDistance.update(
                DivergenceGuard.median(rest.stream().mapToDouble(r -> sum.distances[r]).toArray()));
    }

    /**
     * Adds a contribution, whose {@code squares} (sum of its values' squares) were measured by the
     * guard; false if this replica already contributed to the round.
     */
    static boolean add(RoundSum sum, Contribution chunk, float[] values, double squares) {
        int r = chunk.replica();
        if ((sum.contributors[r / 64] & (1L << (r % 64))) != 0) {
            return false;
        }
        if (values.length != sum.sum.length) {
            throw new IllegalArgumentException(
                    "chunk "
                            + chunk.chunk()
                            + " of replica "
                            + r
                            + " has "
                            + values.length
                            + " values, others sent "
                            + sum.sum.length);
        }
        sum.contributors[r / 64] |= 1L << (r % 64);
        float[] total = sum.sum;
        for (int i = 0; i < values.length; i++) {
            total[i] += values[i];
        }
        sum.sumOfSquares += squares;
        sum.count++;
        sum.arrived++;
        if (sum.losses.length > 0) {
            sum.losses[r] = chunk.progress().loss();
        }
        sum.maxStep = Math.max(sum.maxStep, chunk.progress().step());
        sum.tokens += chunk.progress().tokens();
        return true;
    }

    private void close(RoundSum sum, int chunk, Collector<GlobalChunk> out) throws Exception {
        dropOutliers(sum, chunk);
        float[] next = sum.count == 0 ? null : nextGlobal(sum);
        if (next == null) {
            next = previousGlobal.value(); // never publish a non-finite model
            keptPrevious.inc();
            LOG.warn(
                    "round {} (generation {}) of chunk {}: {}; {}",
                    sum.round,
                    sum.generation,
                    chunk,
                    sum.count == 0
                            ? "every contribution was rejected"
                            : "the average is not finite",
                    next == null
                            ? "no global chunk yet: nothing published"
                            : "the previous global chunk is published again");
        } else {
            previousGlobal.update(next);
        }
        if (next != null) { // what replicas adopt as this round: the base of their next deltas
            globalVersion.update(new Closed(sum.generation, sum.round));
        }
        closed.update(new Closed(sum.generation, sum.round));
        for (Map.Entry<Long, RoundSum> entry : toList(rounds.entries())) {
            if (entry.getKey() <= sum.round) {
                rounds.remove(entry.getKey());
            }
        }
        closedRounds.inc();
        if (next == null) {
            return;
        }
        out.collect(
                new GlobalChunk(
                        new RoundId(sum.generation, sum.round),
                        sum.count,
                        new Progress(sum.maxStep, sum.tokens, meanLoss(sum.losses)),
                        sum.losses,
                        new Slice(chunk, sum.chunkCount, next)));
    }

    /**
     * The average of the round's accepted contributions through the outer optimizer, or null if
     * that is not finite (the outer optimizer's momentum then stays as it was).
     */
    private float[] nextGlobal(RoundSum sum) throws Exception {
        float[] average = new float[sum.sum.length];
        double averageSquares = 0;
        for (int i = 0; i < average.length; i++) {
            average[i] = sum.sum[i] / sum.count;
            averageSquares += (double) average[i] * average[i];
        }
        // sum_i |x_i - avg|^2 = sum_i |x_i|^2 - n |avg|^2: how far the replicas drifted apart
        divergence =
                Math.sqrt(Math.max(0, sum.sumOfSquares - sum.count * averageSquares) / sum.count);
        float[] previous = previousGlobal.value();
        float[] m = momentum.value();
        // a copy: the heap backend hands out the state's own array, which apply() updates in place
        m = m == null ? new float[average.length] : m.clone();
        float[] next =
                sync.outerOptimizer()
                        .apply(
                                previous,
                                average,
                                m,
                                sync.outerLearningRate(),
                                sync.outerMomentum());
        if (!DivergenceGuard.finite(next)) {
            return null; // a non-finite step leaves the outer optimizer as it was
        }
        momentum.update(m);
        return next;
    }

    private static float meanLoss(float[] losses) {
        double total = 0;
        int n = 0;
        for (float l : losses) {
            if (!Float.isNaN(l)) {
                total += l;
                n++;
            }
        }
        return n == 0 ? Float.NaN : (float) (total / n);
    }

    private void dropRoundsBefore(int generation) throws Exception {
        for (Map.Entry<Long, RoundSum> entry : toList(rounds.entries())) {
            if (entry.getValue().generation < generation) {
                rounds.remove(entry.getKey());
            }
        }
    }

    private static <T> List<T> toList(Iterable<T> items) {
        List<T> list = new ArrayList<>();
        items.forEach(list::add);
        return list;
    }
}
