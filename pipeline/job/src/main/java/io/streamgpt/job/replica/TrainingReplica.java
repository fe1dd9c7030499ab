package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.chunks.ModelChunkRejections.Reason;
import io.streamgpt.job.RestoreGeneration;
import io.streamgpt.job.config.FaultConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.eval.LineageTally;
import io.streamgpt.job.eval.PrequentialScorer;
import io.streamgpt.job.eval.ReplicaLineage;
import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.job.sync.DivergenceGuard;
import io.streamgpt.job.sync.GlobalRounds;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TrainingConfig;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * One data-parallel training replica: its own model, AdamW state, random source and replay buffer
 * of the windows routed to it. It trains one step per processing-time timer, so the mailbox
 * (checkpoint barriers, new windows, model chunks) is never blocked for longer than one step; every
 * {@code sync_every} steps it sends its parameters to the parameter averager and it adopts each
 * averaged global model that comes back on the broadcast input (the model topic). The local-SGD
 * bookkeeping is {@link LocalSgd}'s; this operator wires state, timers and I/O around it.
 *
 * <p>All replicas start from the same parameters (the training seed), and each samples its batches
 * with seed + replica, as the reference's DDP ranks do.
 *
 * <p>Restores and rescaling: each replica's state is one {@link ReplicaSnapshot} in operator list
 * state, which Flink splits over the new subtasks. A subtask that receives several (fewer replicas
 * than before) merges them: nothing buffered or counted is dropped. A subtask that receives none
 * (more replicas than before) joins at the newest global model, which replica 0 also keeps in union
 * state, at that round's step, so that all replicas contribute to the same rounds.
 */
public final class TrainingReplica
        extends KeyedBroadcastProcessFunction<Integer, TokenWindow, GlobalChunk, Contribution>
        implements CheckpointedFunction {

    /**
     * The broadcast input needs a descriptor; global chunks are assembled in memory, not in
     * broadcast state.
     */
    public static final MapStateDescriptor<Integer, Integer> MODEL_TOPIC =
            new MapStateDescriptor<>("model-topic", Types.INT, Types.INT);

    /** Prequential scores of the windows this replica received, per version (side output). */
    public static final OutputTag<PrequentialScorer.Score> PREQUENTIAL =
            new OutputTag<>("prequential", TypeInformation.of(PrequentialScorer.Score.class));

    /**
     * What the replica had received and trained when it contributed to a round, sent when that
     * round is published (side output, {@link ReplicaLineage}).
     */
    public static final OutputTag<LineageTally.Consumed> LINEAGE =
            new OutputTag<>("lineage", TypeInformation.of(LineageTally.Consumed.class));

    private static final Logger LOG = LoggerFactory.getLogger(TrainingReplica.class);
    private static final long WAIT_POLL_MS = 2;
    private static final int LATENCIES_KEPT = 4096;

    /** Sync round trips the latency quantiles are computed over: the newest ones. */
    private final GptConfig shape;

    private final TrainingConfig training;
    private final ReplicaConfig replicas;
    private final SyncConfig sync;
    private final FaultConfig faults;
    private final int stride;
    private final int prequentialEvery;
    private transient PrequentialScorer prequential;
    // what was received per contribution, until its round is published (lineage, freshness)
    private transient ReplicaLineage lineage;
    private transient Histogram freshness;

    // what the replica is: index, restore generation, model and its training
    private transient int replica;
    private transient int generation;
    private transient ReplicaStep model; // the real model and AdamW, or a simulated step
    private transient ReplayBuffer buffer;
    private transient Random batches;
    private transient LocalSgd sgd;
    private transient GlobalRounds globalRounds;
    private transient StepPacer pacer;

    // progress
    private transient long globalStep;
    private transient long tokensConsumed;
    private transient float lastLoss;
    private transient double tokensPerSecond;
    private transient long stepNanos; // in model.step, in all: what the step fraction is made of
    private transient boolean timerPending;
    private transient boolean resendAfterRestore;

    // replica 0 only: the newest global model and its round, what a replica added by a rescale
    // starts from
    private transient ReplicaSnapshot.Global global;

    private transient ListState<byte[]> snapshotState;
    private transient ListState<byte[]> globalState;
    private transient RestoreGeneration generations;
    private transient List<ReplicaSnapshot> restored;
    private transient ReplicaSnapshot.Global restoredGlobal;
    private transient Counter syncRounds;
    private transient Counter staleChunks;
    private transient Counter bytesSent;
    private transient Counter bytesReceived;
    private transient Histogram roundLatency;

    /**
     * @param stride tokens between window starts: what each window adds to the stream, for
     *     PER_TOKENS pacing
     */
    public TrainingReplica(
            GptConfig shape,
            TrainingConfig training,
            ReplicaConfig replicas,
            SyncConfig sync,
            FaultConfig faults,
            int stride) {
        this(shape, training, replicas, sync, faults, stride, 0);
    }

    /**
     * @param prequentialEvery score one received window in this many with the adopted global
     *     version before buffering it ({@link PrequentialScorer}); 0 is off
     */
    public TrainingReplica(
            GptConfig shape,
            TrainingConfig training,
            ReplicaConfig replicas,
            SyncConfig sync,
            FaultConfig faults,
            int stride,
            int prequentialEvery) {
        this.prequentialEvery = prequentialEvery;
        this.shape = shape;
        this.training = training;
        this.replicas = replicas;
        this.sync = sync;
        this.faults = faults;
        this.stride = stride;
    }

    // ---------------------------------------------------------------- lifecycle and state

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        generations = RestoreGeneration.of(context, "generation");
        generation = generations.current();
        snapshotState =
                context.getOperatorStateStore()
                        .getListState(
                                new ListStateDescriptor<>(
                                        "replica",
                                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        restored = new ArrayList<>();
        for (byte[] bytes : snapshotState.get()) {
            restored.add(ReplicaSnapshot.fromBytes(bytes));
        }
        globalState =
                context.getOperatorStateStore()
                        .getUnionListState(
                                new ListStateDescriptor<>(
                                        "global-model",
                                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        for (byte[] bytes : globalState.get()) { // one entry, replica 0's
            ReplicaSnapshot.Global g = ReplicaSnapshot.Global.fromBytes(bytes);
            if (restoredGlobal == null || g.round() > restoredGlobal.round()) {
                restoredGlobal = g;
            }
        }
    }

    @Override
    public void open(OpenContext context) {
        replica = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        ModelHost host =
                ModelHost.forReplica(
                        replicas.threads(),
                        replica,
                        GpuAssignment.of(
                                getRuntimeContext()
                                        .getExternalResourceInfos(GpuAssignment.RESOURCE_NAME),
                                replica));
        model = ReplicaStep.create(shape, training, replicas, host, replica);
        lineage = new ReplicaLineage();
        if (prequentialEvery > 0) { // a fresh job holds version 0, the common initial model
            prequential =
                    new PrequentialScorer(
                            host.create(shape, training.seed()),
                            prequentialEvery,
                            replica,
                            generation,
                            restored.isEmpty() && restoredGlobal == null);
        }
        buffer =
                new ReplayBuffer(
                        replicas.bufferTokens(),
                        replicas.replayPolicy(),
                        replicas.replayHalfLifeTokens());
        batches = new Random(training.seed() + replica);
        pacer = new StepPacer(replicas);
        lastLoss = Float.NaN;
        long adoptedRound = 0;
        long awaitingRound = -1;
        if (replica == 0 && restoredGlobal != null) {
            global = restoredGlobal;
        } else if (replica == 0 && restored.isEmpty()) {
            global = new ReplicaSnapshot.Global(0, model.parameters()); // the common initial model
        }
        if (restored.size() > 1) {
            LOG.info(
                    "replica {} takes over the state of {} replicas (fewer replicas than before)",
                    replica,
                    restored.size());
        }
        boolean restoring = !restored.isEmpty();
        boolean joining = !restoring && restoredGlobal != null;
        if (!restored.isEmpty()) {
            ReplicaSnapshot s = ReplicaSnapshot.merge(restored);
            restore(s);
            lineage = s.lineage();
            lineage.restoredIn(generation, replica);
            adoptedRound = s.adoptedRound();
            awaitingRound = s.awaitingRound();
            // contributions sent before the failure belong to the old generation: send again
            resendAfterRestore = awaitingRound >= 0;
        } else if (restoredGlobal != null) {
            adoptedRound = join(restoredGlobal);
        }
        restored = null;
        restoredGlobal = null;
        sgd =
                new LocalSgd(
                        sync, replica, generation, adoptedRound, awaitingRound, model.parameters());
        boolean fresh = !restoring && !joining;
        globalRounds =
                new GlobalRounds(
                        (int) model.parameterCount(),
                        sync.chunkSize(),
                        sync.fragments(),
                        generation,
                        adoptedRound,
                        false,
                        // with fragments: the whole model that fragment rounds update, for what
                        // reads it (replica 0's copy for rescales, prequential scoring); others
                        // merge fragments without one
                        global != null
                                ? global.parameters()
                                : fresh && prequential != null ? model.parameters() : null);
        registerMetrics(
                getRuntimeContext().getMetricGroup().addGroup("replica", String.valueOf(replica)));
        LOG.info(
                "replica {} of {} ready: generation {}, step {}, {} buffered tokens",
                replica,
                replicas.count(),
                generation,
                globalStep,
                buffer.size());
    }

    private void restore(ReplicaSnapshot s) {
        globalStep = s.globalStep();
        tokensConsumed = s.tokensConsumed();
        lastLoss = s.lastLoss();
        model.setParameters(s.parameters());
        model.restoreOptimizer(s.optimizerSteps(), s.firstMoment(), s.secondMoment());
        batches = s.batches();
        buffer.restore(s.buffer());
    }

    /**
     * A replica added by a rescale starts from the newest global model at its round's step, with
     * fresh AdamW moments and an empty buffer: the windows routed to it from now on fill it.
     */
    private long join(ReplicaSnapshot.Global g) {
        model.setParameters(g.parameters());
        globalStep = g.round() * sync.stepsPerRound();
        LOG.info(
                "replica {} joins at round {} (step {}) from the global model",
                replica,
                g.round(),
                globalStep);
        return g.round();
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        generations.snapshot();
        float[][] moments = model.optimizerState();
        ReplicaSnapshot snapshot =
                new ReplicaSnapshot(
                        replica,
                        globalStep,
                        sgd.adoptedRound(),
                        sgd.awaitingRound(),
                        tokensConsumed,
                        lastLoss,
                        model.parameters(),
                        model.optimizerSteps(),
                        moments[0],
                        moments[1],
                        batches,
                        buffer.runs(),
                        lineage);
        snapshotState.update(List.of(snapshot.toBytes()));
        globalState.update(global == null ? List.of() : List.of(global.toBytes()));
    }

    private void registerMetrics(MetricGroup metrics) {
        metrics.gauge("train_loss", () -> lastLoss);
        metrics.gauge("steps", () -> globalStep);
        metrics.gauge("tokens_per_s", () -> tokensPerSecond);
        metrics.gauge("tokens_consumed", () -> tokensConsumed);
        metrics.gauge("buffer_fill", () -> (double) buffer.size() / buffer.capacity());
        metrics.gauge("model_version", () -> sgd.adoptedRound());
        metrics.gauge("generation", () -> generation);
        syncRounds = metrics.counter("sync_rounds");
        staleChunks = metrics.counter("stale_model_chunks");
        globalRounds.rejections().bindTo(metrics, Reason.LAYOUT, Reason.TOO_MANY_ROUNDS);
        metrics.gauge("model_rounds_in_flight", () -> globalRounds.roundsInFlight());
        // what bench sync and the dashboard read: time spent waiting for rounds, each round's
        // latency (a histogram, not the last value: Prometheus gets quantiles), bytes
        metrics.gauge("sync_wait_ms_total", () -> sgd.waitedMs());
        metrics.gauge("step_ms_total", () -> stepNanos / 1e6);
        roundLatency =
                metrics.histogram(
                        "sync_latency_ms", new DescriptiveStatisticsHistogram(LATENCIES_KEPT));
        // Kafka timestamp of a text record to the first published version that could train on it
        freshness =
                metrics.histogram(
                        "freshness_ms", new DescriptiveStatisticsHistogram(LATENCIES_KEPT));
        bytesSent = metrics.counter("sync_bytes_sent");
        bytesReceived = metrics.counter("sync_bytes_received");
    }

    @Override
    public void close() {
        if (prequential != null) {
            prequential.close();
        }
        if (model != null) {
            model.close();
        }
    }

    // ---------------------------------------------------------------- windows in, steps out

    @Override
    public void processElement(
            TokenWindow window, ReadOnlyContext ctx, Collector<Contribution> out) {
        if (prequential != null) {
            prequential.offer(window); // test, then train
        }
        lineage.received(window);
        buffer.add(window);
        pacer.arrived(stride); // the tokens a window adds to its partition's stream
        schedule(ctx.timerService(), 0);
    }

    /** Asks for one step soon; a step per timer keeps the mailbox responsive. */
    private void schedule(TimerService timers, long delayMs) {
        if (!timerPending) {
            timers.registerProcessingTimeTimer(timers.currentProcessingTime() + delayMs);
            timerPending = true;
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<Contribution> out) {
        timerPending = false;
        if (replicas.maxSteps() > 0 && globalStep >= replicas.maxSteps()) {
            return;
        }
        if (resendAfterRestore) {
            resendAfterRestore = false;
            emit(
                    sgd.resend(
                            globalStep,
                            tokensConsumed,
                            lastLoss,
                            model.parameters(),
                            System.nanoTime()),
                    out);
        }
        if (sgd.waiting()) { // wait for a round's average without blocking the mailbox
            schedule(ctx.timerService(), WAIT_POLL_MS);
            return;
        }
        if (!pacer.ready()) {
            return; // the next window schedules again
        }
        TokenCorpus.Batch batch = buffer.sample(batches, training.batchSize(), shape.blockSize());
        if (batch == null) {
            return; // nothing long enough to train on yet
        }
        step(batch);
        if (faults.failsAt(
                globalStep,
                replica,
                generation,
                getRuntimeContext().getTaskInfo().getAttemptNumber())) {
            throw new IllegalStateException(
                    "injected failure at step " + globalStep + " (--fail-at-step)");
        }
        poisonIfTold();
        if (sgd.roundEndsAt(globalStep)) {
            lineage.contributed(
                    generation,
                    globalStep / sync.stepsPerRound(),
                    globalStep,
                    replica,
                    tokensConsumed);
            emit(
                    sgd.contribute(
                            globalStep,
                            tokensConsumed,
                            lastLoss,
                            model.parameters(),
                            System.nanoTime()),
                    out);
        }
        if (pacer.ready()) { // another step right away
            schedule(ctx.timerService(), sgd.waiting() ? WAIT_POLL_MS : 0);
        }
    }

    /** One optimizer step, its loss and throughput. */
    private void step(TokenCorpus.Batch batch) {
        long t0 = System.nanoTime();
        lastLoss = model.step(batch);
        long nanos = System.nanoTime() - t0;
        stepNanos += nanos;
        double seconds = nanos / 1e9;
        long tokens = (long) batch.batchSize() * batch.blockSize();
        tokensPerSecond =
                tokensPerSecond == 0
                        ? tokens / seconds
                        : 0.9 * tokensPerSecond + 0.1 * tokens / seconds;
        tokensConsumed += tokens;
        globalStep++;
        sgd.stepped(lastLoss);
        pacer.stepped();
    }

    private void emit(Contribution[] chunks, Collector<Contribution> out) {
        for (Contribution chunk : chunks) {
            bytesSent.inc(ModelChunkFormat.serializedSize(chunk));
            out.collect(chunk);
        }
    }

    /** The --fault-nan-at-step hook: NaN parameters, as a diverged replica's. */
    private void poisonIfTold() {
        if (faults.poisonsAt(
                globalStep,
                replica,
                generation,
                getRuntimeContext().getTaskInfo().getAttemptNumber())) {
            float[] nan = new float[(int) model.parameterCount()];
            Arrays.fill(nan, Float.NaN);
            model.setParameters(nan);
            LOG.warn(
                    "replica {}: parameters set to NaN at step {} (--fault-nan-at-step)",
                    replica,
                    globalStep);
        }
    }

    /**
     * Before adopting a global model: a replica whose loss or parameters went non-finite had its
     * contribution rejected by the averager's divergence guard; it starts again from the global
     * model with fresh AdamW moments (NaN moments would poison the next step).
     */
    private void resetMomentsIfDiverged(float[] parameters) {
        boolean lossDiverged =
                Float.isInfinite(lastLoss)
                        || (Float.isNaN(lastLoss)
                                && model.optimizerSteps() > 0); // NaN before a first step
        if (!lossDiverged && DivergenceGuard.finite(parameters)) {
            return;
        }
        int n = (int) model.parameterCount();
        model.restoreOptimizer(model.optimizerSteps(), new float[n], new float[n]);
        LOG.warn(
                "replica {} diverged (loss {}): re-adopts the global model with fresh AdamW"
                        + " moments",
                replica,
                lastLoss);
    }

    // ---------------------------------------------------------------- averaged model in

    @Override
    public void processBroadcastElement(
            GlobalChunk chunk, Context ctx, Collector<Contribution> out) {
        bytesReceived.inc(ModelChunkFormat.serializedSize(chunk));
        long ignoredBefore = globalRounds.ignored();
        GlobalRounds.Round complete = globalRounds.offer(chunk);
        staleChunks.inc(globalRounds.ignored() - ignoredBefore);
        if (complete != null) {
            long round = complete.round();
            // one copy of the local parameters for the divergence check and the merge (OVERLAP,
            // fragments): on the reference preset each copy is 43 MB, every round
            float[] local = model.parameters();
            resetMomentsIfDiverged(local);
            if (prequential != null && complete.parameters() != null) {
                PrequentialScorer.Score score =
                        prequential.adopt(
                                complete.version().generation(),
                                round,
                                complete.head().progress().step(),
                                complete.head().progress().tokens(),
                                complete.parameters());
                if (score != null) {
                    ctx.output(PREQUENTIAL, score);
                }
            }
            long timedBefore = sgd.roundsTimed();
            float[] next = sgd.adopt(complete, () -> local, System.nanoTime());
            model.setParameters(next);
            if (sgd.roundsTimed() > timedBefore) {
                roundLatency.update(sgd.lastLatencyMs());
            }
            if (replica == 0 && complete.parameters() != null) {
                global = new ReplicaSnapshot.Global(round, complete.parameters());
            }
            globalStep = sgd.stepAfterAdopting(round, globalStep);
            syncRounds.inc();
            ReplicaLineage.Published published =
                    lineage.published(round, System.currentTimeMillis());
            published.reports().forEach(report -> ctx.output(LINEAGE, report));
            for (long ms : published.freshnessMs()) {
                freshness.update(ms);
            }
            // one round in flight: the round that waited on this one goes out
            emit(sgd.release(() -> next, System.nanoTime()), out);
        }
    }
}
