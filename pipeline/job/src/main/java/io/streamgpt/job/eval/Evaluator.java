package io.streamgpt.job.eval;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TopicRecord;
import io.streamgpt.job.LiveModelSpec;
import io.streamgpt.job.RestoreGeneration;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.job.replica.ReplayBuffer;
import io.streamgpt.job.sync.GlobalRounds;
import io.streamgpt.model.Generator;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.Sampler;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TrainingConfig;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.co.CoProcessFunction;
import org.apache.flink.util.Collector;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Assembles each global model version from the model topic, keeps a buffer of held-out windows, and
 * every {@code eval_interval} steps writes a loss record (per-replica training losses, global
 * validation loss) to the losses topic, every {@code sample_interval} steps a generated sample to
 * the samples topic.
 */
public final class Evaluator extends CoProcessFunction<GlobalChunk, TokenWindow, TopicRecord>
        implements CheckpointedFunction {

    /** Held-out tokens kept for validation: ~2,000 windows of the cpu preset. */
    private static final long VAL_BUFFER_TOKENS = 130_000;

    private final LiveModelSpec spec;
    private final TrainingConfig training;
    private final EvaluationConfig evaluation;
    private final TopicsConfig topics;

    private transient Gpt model;
    private transient ReplayBuffer heldOut;
    private transient long heldOutWindows;
    private transient Random random;
    private transient GlobalRounds globalRounds;
    private transient long lastEvalBucket;
    private transient long lastSampleBucket;
    private transient ListState<byte[]> heldOutState;
    private transient RestoreGeneration generations;
    private transient ListState<Long> heldOutWindowsState;
    private transient long restoredHeldOutWindows;
    private transient int generation;
    private transient List<ReplayBuffer.Run> restoredHeldOut;
    private transient volatile float valLoss = Float.NaN;
    private transient volatile long modelVersion;
    private transient HeldOutSet valData;
    private transient volatile float valDataLoss = Float.NaN;

    public Evaluator(
            LiveModelSpec spec,
            TrainingConfig training,
            EvaluationConfig evaluation,
            TopicsConfig topics) {
        this.spec = spec;
        this.training = training;
        this.evaluation = evaluation;
        this.topics = topics;
    }

    /**
     * The held-out windows are state: after a restore the text source does not replay them. The
     * generation is state too, counted as the replicas count theirs: after a restore the model
     * topic replays the old generation's rounds written after the checkpoint, which must not be
     * reported twice.
     */
    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        generations = RestoreGeneration.of(context, "evaluator-generation");
        generation = generations.current();
        heldOutState =
                context.getOperatorStateStore()
                        .getListState(
                                new ListStateDescriptor<>(
                                        "held-out",
                                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        heldOutWindowsState =
                context.getOperatorStateStore()
                        .getListState(new ListStateDescriptor<>("held-out-windows", Types.LONG));
        for (Long count : heldOutWindowsState.get()) {
            restoredHeldOutWindows += count;
        }
        restoredHeldOut = new ArrayList<>();
        for (byte[] bytes : heldOutState.get()) {
            try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
                restoredHeldOut.addAll(ReplayBuffer.readRuns(in));
            }
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        generations.snapshot();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            ReplayBuffer.writeRuns(out, heldOut.runs());
        }
        heldOutState.update(List.of(bytes.toByteArray()));
        heldOutWindowsState.update(List.of(heldOutWindows));
    }

    @Override
    public void open(OpenContext context) {
        model = spec.host().create(spec.shape(), training.seed());
        heldOut = new ReplayBuffer(VAL_BUFFER_TOKENS);
        heldOut.restore(restoredHeldOut);
        heldOutWindows =
                restoredHeldOutWindows; // windows received, not the runs they were merged into
        random = new Random(training.seed() + 1);
        globalRounds =
                new GlobalRounds(
                        (int) model.parameterCount(),
                        spec.chunkSize(),
                        spec.fragments(),
                        generation,
                        0,
                        true,
                        null);
        lastEvalBucket = -1;
        lastSampleBucket = 0;
        var metrics = getRuntimeContext().getMetricGroup();
        metrics.gauge("val_loss", () -> valLoss);
        metrics.gauge("model_version", () -> modelVersion);
        metrics.gauge("held_out_windows", () -> heldOutWindows);
        globalRounds.rejections().bindTo(metrics, GlobalRounds.READER_REASONS);
        metrics.gauge("model_rounds_in_flight", () -> globalRounds.roundsInFlight());
        openValData(metrics);
    }

    @Override
    public void processElement2(TokenWindow window, Context ctx, Collector<TopicRecord> out) {
        heldOut.add(window);
        heldOutWindows++;
    }

    @Override
    public void processElement1(GlobalChunk chunk, Context ctx, Collector<TopicRecord> out) {
        GlobalRounds.Round complete = globalRounds.offerWhole(chunk);
        if (complete != null) {
            modelVersion = complete.round();
            report(complete, out);
        }
    }

    /**
     * Loads the round into the model only when it is evaluated or sampled: most rounds are neither.
     */
    private void report(GlobalRounds.Round round, Collector<TopicRecord> out) {
        GlobalChunk head = round.head();
        long step = head.progress().step();
        boolean evaluate = step / evaluation.interval() > lastEvalBucket;
        boolean sample =
                evaluation.sampleTokens() > 0
                        && step / evaluation.sampleInterval() > lastSampleBucket;
        if (evaluate || sample) {
            model.setParameterValues(round.parameters());
        }
        if (evaluate) {
            lastEvalBucket = step / evaluation.interval();
            valLoss = validationLoss();
            Float[] perReplica = new Float[head.replicaLosses().length];
            for (int i = 0; i < perReplica.length; i++) {
                perReplica[i] = Reports.orNull(head.replicaLosses()[i]);
            }
            out.collect(
                    new TopicRecord(
                            topics.losses(),
                            Reports.toJson(
                                    new Reports.LossRecord(
                                            step,
                                            head.round(),
                                            head.generation(),
                                            head.progress().tokens(),
                                            Reports.orNull(head.progress().loss()),
                                            perReplica,
                                            Reports.orNull(valLoss),
                                            heldOutWindows,
                                            System.currentTimeMillis()))));
            reportValData(head, out);
        }
        if (sample) {
            lastSampleBucket = step / evaluation.sampleInterval();
            int[] tokens =
                    new Generator(model)
                            .generate(
                                    new int[0],
                                    evaluation.sampleTokens(),
                                    Sampler.multinomial(step),
                                    true);
            out.collect(
                    new TopicRecord(
                            topics.samples(),
                            Reports.toJson(
                                    new Reports.SampleRecord(
                                            step,
                                            head.round(),
                                            head.generation(),
                                            spec.vocabulary().decode(tokens),
                                            System.currentTimeMillis()))));
        }
    }

    /** The fixed held-out set of {@code --val-data}, if any, and its metric. */
    private void openValData(org.apache.flink.metrics.MetricGroup metrics) {
        valData =
                HeldOutSet.open(
                        evaluation,
                        spec.vocabulary(),
                        spec.shape().blockSize(),
                        training.batchSize(),
                        training.seed());
        if (valData != null) {
            metrics.gauge("val_data_loss", () -> valDataLoss);
        }
    }

    /** A {@code val_data} record: the loaded version's loss on the fixed held-out set. */
    private void reportValData(GlobalChunk head, Collector<TopicRecord> out) {
        if (valData == null) {
            return;
        }
        valDataLoss = valData.loss(model);
        out.collect(
                new TopicRecord(
                        topics.losses(),
                        Reports.toJson(
                                EvalRecords.ModelLoss.of(
                                        EvalRecords.VAL_DATA,
                                        head.progress().step(),
                                        head.round(),
                                        head.generation(),
                                        head.progress().tokens(),
                                        valDataLoss,
                                        valData.windows()))));
    }

    private float validationLoss() {
        double sum = 0;
        for (int i = 0; i < evaluation.iters(); i++) {
            TokenCorpus.Batch batch =
                    heldOut.sample(random, training.batchSize(), spec.shape().blockSize());
            if (batch == null) {
                return Float.NaN;
            }
            sum += model.evaluate(batch);
        }
        return (float) (sum / evaluation.iters());
    }

    @Override
    public void close() {
        if (model != null) {
            model.close();
        }
    }
}
