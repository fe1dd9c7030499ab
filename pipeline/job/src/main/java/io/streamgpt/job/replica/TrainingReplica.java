package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.ModelChunk;
import io.streamgpt.connectors.chunks.ParameterChunks;
import io.streamgpt.job.JobConfig;
import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.job.sync.GlobalRounds;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.Trainer;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.co.KeyedBroadcastProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * One data-parallel training replica: its own model, AdamW state, random source and replay buffer
 * of the windows routed to it. Every {@code sync_every} steps it sends its parameters, in chunks,
 * to the parameter averager, and it adopts each averaged global model that comes back on the
 * broadcast input (the model topic).
 *
 * <p>Steps run one per processing-time timer, so the mailbox (checkpoint barriers, new windows,
 * model chunks) is never blocked for longer than one step. All replicas start from the same
 * parameters (the config seed), and each samples its batches with seed + replica, as the
 * reference's DDP ranks do.
 *
 * <p>Restores and rescaling: each replica's state is one {@link ReplicaSnapshot} in operator list
 * state, which Flink splits over the new subtasks. A subtask that receives several (fewer replicas
 * than before) merges them: nothing buffered or counted is dropped. A subtask that receives none
 * (more replicas than before) joins at the newest global model, which replica 0 also keeps in union
 * state, at that round's step, so that all replicas contribute to the same rounds.
 */
public final class TrainingReplica
        extends KeyedBroadcastProcessFunction<Integer, TokenWindow, ModelChunk, ModelChunk>
        implements CheckpointedFunction {

    /**
     * The broadcast input needs a descriptor; global chunks are assembled in memory, not in
     * broadcast state.
     */
    public static final MapStateDescriptor<Integer, Integer> MODEL_TOPIC =
            new MapStateDescriptor<>("model-topic", Types.INT, Types.INT);

    private static final Logger LOG = LoggerFactory.getLogger(TrainingReplica.class);
    private static final long WAIT_POLL_MS = 2;

    private final JobConfig config;

    private transient int replica;
    private transient int generation;
    private transient Gpt model;
    private transient Trainer trainer;
    private transient ReplayBuffer buffer;
    private transient Random batches;
    private transient long globalStep;
    private transient long adoptedRound;
    private transient long awaitingRound;
    private transient long tokensConsumed;
    private transient long tokensUntrained;
    private transient float lastLoss;
    private transient double
            roundLossSum; // losses of the steps since the last send: a round's train loss
    private transient int roundLossSteps;
    private transient long baseChecksum;
    private transient boolean timerPending;
    private transient boolean resendAfterRestore;
    private transient GlobalRounds globalRounds;
    private transient TreeMap<Long, float[]> sentParameters;
    private transient TreeMap<Long, Long> sentAtNanos;
    private transient double tokensPerSecond;
    private transient long lastSyncLatencyMs;

    // replica 0 only: the newest global model and its round, what a replica added by a rescale
    // starts from
    private transient long globalRound;
    private transient float[] globalParameters;

    private transient ListState<byte[]> snapshotState;
    private transient ListState<Integer> generationState;
    private transient ListState<byte[]> globalState;
    private transient List<ReplicaSnapshot> restored;
    private transient ReplicaSnapshot.Global restoredGlobal;
    private transient Counter syncRounds;
    private transient Counter staleChunks;

    public TrainingReplica(JobConfig config) {
        this.config = config;
    }

    // ---------------------------------------------------------------- lifecycle and state

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        // Every subtask sees every generation (union state), so all agree on the next one.
        generationState =
                context.getOperatorStateStore()
                        .getUnionListState(new ListStateDescriptor<>("generation", Types.INT));
        int max = -1;
        for (Integer g : generationState.get()) {
            max = Math.max(max, g);
        }
        generation = context.isRestored() ? max + 1 : 0;
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
            ReplicaSnapshot.Global global = ReplicaSnapshot.Global.fromBytes(bytes);
            if (restoredGlobal == null || global.round() > restoredGlobal.round()) {
                restoredGlobal = global;
            }
        }
    }

    @Override
    public void open(OpenContext context) {
        replica = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        TorchRuntime.configure(config.threadsPerReplica());
        GptConfig c = config.model();
        OptionalInt gpu =
                GpuAssignment.of(
                        getRuntimeContext().getExternalResourceInfos(GpuAssignment.RESOURCE_NAME),
                        replica);
        model = Gpt.create(c, TorchRuntime.deviceFor(replica, gpu, TorchRuntime.visibleGpus()));
        trainer = new Trainer(model);
        buffer = new ReplayBuffer(config.bufferTokens());
        batches = new Random(c.seed() + replica);
        awaitingRound = -1;
        lastLoss = Float.NaN;
        sentParameters = new TreeMap<>();
        sentAtNanos = new TreeMap<>();
        if (replica == 0 && restoredGlobal != null) {
            globalRound = restoredGlobal.round();
            globalParameters = restoredGlobal.parameters();
        } else if (replica == 0 && restored.isEmpty()) {
            globalParameters = model.parameterValues(); // round 0: the common initial model
        }
        if (restored.size() > 1) {
            LOG.info(
                    "replica {} takes over the state of {} replicas (fewer replicas than before)",
                    replica,
                    restored.size());
        }
        if (!restored.isEmpty()) {
            restore(ReplicaSnapshot.merge(restored));
        } else if (restoredGlobal != null) {
            join(restoredGlobal);
        }
        restored = null;
        restoredGlobal = null;
        globalRounds =
                new GlobalRounds(
                        (int) model.parameterCount(),
                        config.chunkSize(),
                        generation,
                        adoptedRound,
                        false);
        baseChecksum = checksum(model.parameterValues());
        registerMetrics(
                getRuntimeContext().getMetricGroup().addGroup("replica", String.valueOf(replica)));
        LOG.info(
                "replica {} of {} ready: generation {}, step {}, {} buffered tokens",
                replica,
                config.replicas(),
                generation,
                globalStep,
                buffer.size());
    }

    private void restore(ReplicaSnapshot s) {
        globalStep = s.globalStep();
        adoptedRound = s.adoptedRound();
        tokensConsumed = s.tokensConsumed();
        lastLoss = s.lastLoss();
        model.setParameterValues(s.parameters());
        trainer.optimizer().restore(s.optimizerSteps(), s.firstMoment(), s.secondMoment());
        batches = s.batches();
        buffer.restore(s.buffer());
        // Contributions sent before the failure belong to the old generation and are dropped by
        // the averager: a replica that was waiting for a round sends its parameters again.
        awaitingRound = s.awaitingRound();
        resendAfterRestore = awaitingRound >= 0;
    }

    /**
     * A replica added by a rescale starts from the newest global model at its round's step, with
     * fresh AdamW moments and an empty buffer: the windows routed to it from now on fill it.
     */
    private void join(ReplicaSnapshot.Global global) {
        model.setParameterValues(global.parameters());
        adoptedRound = global.round();
        globalStep = global.round() * config.syncEvery();
        LOG.info(
                "replica {} joins at round {} (step {}) from the global model",
                replica,
                adoptedRound,
                globalStep);
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        generationState.update(List.of(generation));
        float[][] moments = trainer.optimizer().state();
        ReplicaSnapshot snapshot =
                new ReplicaSnapshot(
                        replica,
                        globalStep,
                        adoptedRound,
                        awaitingRound,
                        tokensConsumed,
                        lastLoss,
                        model.parameterValues(),
                        trainer.optimizer().steps(),
                        moments[0],
                        moments[1],
                        batches,
                        buffer.runs());
        snapshotState.update(List.of(snapshot.toBytes()));
        globalState.update(
                globalParameters == null
                        ? List.of()
                        : List.of(
                                new ReplicaSnapshot.Global(globalRound, globalParameters)
                                        .toBytes()));
    }

    private void registerMetrics(MetricGroup metrics) {
        metrics.gauge("train_loss", () -> lastLoss);
        metrics.gauge("steps", () -> globalStep);
        metrics.gauge("tokens_per_s", () -> tokensPerSecond);
        metrics.gauge("tokens_consumed", () -> tokensConsumed);
        metrics.gauge("buffer_fill", () -> (double) buffer.size() / buffer.capacity());
        metrics.gauge("model_version", () -> adoptedRound);
        metrics.gauge("sync_latency_ms", () -> lastSyncLatencyMs);
        metrics.gauge("generation", () -> generation);
        syncRounds = metrics.counter("sync_rounds");
        staleChunks = metrics.counter("stale_model_chunks");
    }

    @Override
    public void close() {
        if (trainer != null) {
            trainer.close();
        }
        if (model != null) {
            model.close();
        }
    }

    // ---------------------------------------------------------------- windows in, steps out

    @Override
    public void processElement(TokenWindow window, ReadOnlyContext ctx, Collector<ModelChunk> out) {
        buffer.add(window);
        tokensUntrained += config.stride();
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
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<ModelChunk> out) {
        timerPending = false;
        if (config.maxSteps() > 0 && globalStep >= config.maxSteps()) {
            return;
        }
        if (resendAfterRestore) {
            resendAfterRestore = false;
            sendParameters(awaitingRound, out);
        }
        if (awaitingRound
                >= 0) { // sync mode: wait for the round's average without blocking the mailbox
            schedule(ctx.timerService(), WAIT_POLL_MS);
            return;
        }
        if (config.pacing() == JobConfig.Pacing.PER_TOKENS
                && tokensUntrained < config.tokensPerStep()) {
            return; // the next window schedules again
        }
        GptConfig c = config.model();
        TokenCorpus.Batch batch = buffer.sample(batches, c.batchSize(), c.blockSize());
        if (batch == null) {
            return; // nothing long enough to train on yet
        }
        long t0 = System.nanoTime();
        lastLoss = trainer.step(batch);
        roundLossSum += lastLoss;
        roundLossSteps++;
        double seconds = (System.nanoTime() - t0) / 1e9;
        long tokens = (long) c.batchSize() * c.blockSize();
        tokensPerSecond =
                tokensPerSecond == 0
                        ? tokens / seconds
                        : 0.9 * tokensPerSecond + 0.1 * tokens / seconds;
        tokensConsumed += tokens;
        globalStep++;
        // the chaos hook: once, in the first attempt of a job never restored
        if (globalStep == config.failAtStep()
                && replica == 0
                && generation == 0
                && getRuntimeContext().getTaskInfo().getAttemptNumber() == 0) {
            throw new IllegalStateException(
                    "injected failure at step " + globalStep + " (--fail-at-step)");
        }
        if (config.pacing() == JobConfig.Pacing.PER_TOKENS) {
            tokensUntrained -= config.tokensPerStep();
        }
        if (globalStep % config.syncEvery() == 0) {
            long round = globalStep / config.syncEvery();
            sendParameters(round, out);
            if (config.syncMode() == JobConfig.SyncMode.SYNC) {
                awaitingRound = round;
            }
        }
        boolean more =
                config.pacing() == JobConfig.Pacing.CONTINUOUS
                        || tokensUntrained >= config.tokensPerStep();
        if (more) {
            schedule(ctx.timerService(), awaitingRound >= 0 ? WAIT_POLL_MS : 0);
        }
    }

    private void sendParameters(long round, Collector<ModelChunk> out) {
        float[] parameters = model.parameterValues();
        int chunks = config.chunkCount(parameters.length);
        float roundLoss = roundLossSteps == 0 ? lastLoss : (float) (roundLossSum / roundLossSteps);
        roundLossSum = 0;
        roundLossSteps = 0;
        for (int c = 0; c < chunks; c++) {
            out.collect(
                    new ModelChunk(
                            ModelChunk.Kind.CONTRIBUTION,
                            generation,
                            round,
                            replica,
                            c,
                            chunks,
                            globalStep,
                            tokensConsumed,
                            roundLoss,
                            baseChecksum,
                            null,
                            ParameterChunks.slice(parameters, c, config.chunkSize())));
        }
        if (config.syncMode() == JobConfig.SyncMode.OVERLAP) {
            sentParameters.put(round, parameters);
            while (sentParameters.size() > 2) {
                sentParameters.pollFirstEntry();
            }
        }
        sentAtNanos.put(round, System.nanoTime());
        while (sentAtNanos.size() > 8) {
            sentAtNanos.pollFirstEntry();
        }
    }

    // ---------------------------------------------------------------- averaged model in

    @Override
    public void processBroadcastElement(ModelChunk chunk, Context ctx, Collector<ModelChunk> out) {
        long ignoredBefore = globalRounds.ignored();
        GlobalRounds.Round complete = globalRounds.offer(chunk);
        staleChunks.inc(globalRounds.ignored() - ignoredBefore);
        if (complete != null) {
            adopt(complete.round(), complete.parameters());
        }
    }

    /**
     * Takes the global model of {@code round}. In sync mode it replaces the local parameters; in
     * overlap mode the local progress since the parameters were sent is kept on top of it. A
     * replica that missed rounds (no data, or slower) jumps to the newest one.
     */
    private void adopt(long round, float[] global) {
        float[] next = global;
        float[] sent = sentParameters.remove(round);
        if (config.syncMode() == JobConfig.SyncMode.OVERLAP && sent != null) {
            float[] local = model.parameterValues();
            next = new float[global.length];
            for (int i = 0; i < next.length; i++) {
                next[i] = global[i] + (local[i] - sent[i]);
            }
        }
        sentParameters.headMap(round).clear();
        model.setParameterValues(next);
        baseChecksum = checksum(next);
        adoptedRound = round;
        if (replica == 0) {
            globalRound = round;
            globalParameters = global;
        }
        globalStep = Math.max(globalStep, round * config.syncEvery());
        if (awaitingRound >= 0 && round >= awaitingRound) {
            awaitingRound = -1;
        }
        Long sentAt = sentAtNanos.remove(round);
        if (sentAt != null) {
            lastSyncLatencyMs = (System.nanoTime() - sentAt) / 1_000_000;
        }
        syncRounds.inc();
    }

    public static long checksum(float[] values) {
        java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(4 * values.length);
        bytes.asFloatBuffer().put(values);
        CRC32 crc = new CRC32();
        crc.update(bytes.array());
        return crc.getValue();
    }
}
