package io.streamgpt.job.serve;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.records.PromptRecord;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TopicRecord;
import io.streamgpt.job.LiveModelSpec;
import io.streamgpt.job.config.ServingConfig;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.job.sync.GlobalRounds;
import io.streamgpt.model.Generator;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.Sampler;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.TimerService;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.co.KeyedCoProcessFunction;
import org.apache.flink.util.Collector;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Answers prompt requests with the newest global model: it assembles each version from the model
 * topic (as the evaluator does), keeps a bounded queue of requests and writes each answer, keyed by
 * request id, to the answers topic. An answer that takes more than one timer firing is also
 * published in parts as it grows (one part per firing, {@link Reports.Answer#part}), so that
 * clients can stream it; the final answer carries the whole text.
 *
 * <p>Generation runs in processing-time timers, for at most {@value #TICK_BUDGET_MS} ms per firing,
 * so checkpoint barriers, model chunks and new requests wait no longer than that. A request that
 * arrives when {@code prompt_queue} requests are waiting is answered "queue full" at once; one that
 * arrives before the job has published any model is answered "no model yet" at once (the first
 * model comes after sync_every steps; a client can simply ask again), and one older than its own
 * {@code timeout_ms} is answered "expired" rather than generated for, since nobody waits for it any
 * more: this is what happens to requests replayed after a late restore. Bad requests get an error
 * answer (when their id can be read) and a dead-letter record.
 *
 * <p>The queue is operator state, so accepted requests survive a restore (and are then answered
 * from the restored job's first model, or "no model yet"); the model itself is not state: it comes
 * back on the model topic.
 */
public final class PromptResponder
        extends KeyedCoProcessFunction<Integer, PromptRecord, GlobalChunk, TopicRecord>
        implements CheckpointedFunction {

    /** Generation time per timer firing: the longest the responder holds its mailbox. */
    static final long TICK_BUDGET_MS = 20;

    private final LiveModelSpec spec;
    private final ServingConfig serving;
    private final TopicsConfig topics;
    private final Vocabulary vocabulary;

    private transient ModelHost host;
    private transient GlobalRounds globalRounds;
    private transient Gpt model;
    private transient GlobalRounds.Round
            newerModel; // completed while an answer was being generated
    private transient long modelRound;
    private transient int modelGeneration;
    private transient long modelStep;
    private transient ArrayDeque<Waiting> queue;
    private transient Answering current;
    private transient boolean timerPending;
    private transient ListState<String> queueState;
    private transient List<Waiting> restoredQueue;
    private transient Counter answered;
    private transient Counter invalid;
    private transient Counter rejected;
    private transient Histogram latency;

    /** A request waiting for its turn, with where it came from and when it was sent. */
    record Waiting(PromptRequest request, String topic, int partition, long offset, long sentMs) {}

    /** The request being generated for, across timer firings. */
    private static final class Answering implements AutoCloseable {
        final Waiting waiting;
        final Generator.Session session;
        final Sampler sampler;
        final int[] tokens;
        final long unknownCharacters;
        int produced;
        int published; // characters of the decoded text already sent in parts

        Answering(Waiting waiting, Generator.Session session, long unknownCharacters) {
            this.waiting = waiting;
            this.session = session;
            this.sampler =
                    new Sampler(
                            waiting.request().temperature(),
                            waiting.request().topK(),
                            waiting.request().seed());
            this.tokens = new int[waiting.request().tokens()];
            this.unknownCharacters = unknownCharacters;
        }

        boolean done() {
            return produced == tokens.length;
        }

        void nextToken() {
            tokens[produced] = sampler.sample(session.nextLogits());
            session.append(tokens[produced++]);
        }

        @Override
        public void close() {
            session.close();
        }
    }

    /**
     * @param topics where answers and dead letters go
     */
    public PromptResponder(LiveModelSpec spec, ServingConfig serving, TopicsConfig topics) {
        this.spec = spec;
        this.serving = serving;
        this.topics = topics;
        this.vocabulary = spec.vocabulary();
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        queueState =
                context.getOperatorStateStore()
                        .getListState(new ListStateDescriptor<>("prompt-queue", Types.STRING));
        restoredQueue = new ArrayList<>();
        for (String json : queueState.get()) {
            restoredQueue.add(Reports.fromJson(json, Waiting.class));
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        List<String> waiting = new ArrayList<>();
        if (current != null) { // restarts from its first token after a restore
            waiting.add(Reports.toJson(current.waiting));
        }
        for (Waiting w : queue) {
            waiting.add(Reports.toJson(w));
        }
        queueState.update(waiting);
    }

    @Override
    public void open(OpenContext context) {
        host = spec.host();
        globalRounds =
                new GlobalRounds(
                        spec.parameters(), spec.chunkSize(), spec.fragments(), 0, 0, true, null);
        queue = new ArrayDeque<>();
        if (restoredQueue != null) {
            queue.addAll(restoredQueue);
            restoredQueue = null;
        }
        var metrics = getRuntimeContext().getMetricGroup();
        answered = metrics.counter("prompts_answered");
        invalid = metrics.counter("prompts_invalid");
        rejected = metrics.counter("prompts_rejected");
        metrics.gauge("prompt_queue", () -> queue.size());
        metrics.gauge("prompt_model_round", () -> modelRound);
        // quantiles of the newest 256 prompts' latencies, not the last one
        latency = metrics.histogram("prompt_latency_ms", new DescriptiveStatisticsHistogram(256));
        globalRounds.rejections().bindTo(metrics, GlobalRounds.READER_REASONS);
        metrics.gauge("model_rounds_in_flight", () -> globalRounds.roundsInFlight());
    }

    // ---------------------------------------------------------------- requests in

    @Override
    public void processElement1(PromptRecord record, Context ctx, Collector<TopicRecord> out) {
        PromptRequest request;
        try {
            request =
                    PromptRequest.parse(
                            new String(record.value(), StandardCharsets.UTF_8), vocabulary.size());
        } catch (PromptRequest.Invalid e) {
            invalid.inc();
            out.collect(
                    new TopicRecord(
                            topics.deadLetters(),
                            Reports.toJson(
                                    new Reports.DeadLetter(
                                            record.topic(),
                                            record.partition(),
                                            record.offset(),
                                            "bad prompt request: " + e.getMessage(),
                                            record.value().length,
                                            System.currentTimeMillis()))));
            if (e.id() != null) {
                out.collect(answer(Reports.Answer.error(e.id(), e.getMessage())));
            }
            return;
        }
        long now = ctx.timerService().currentProcessingTime();
        Waiting waiting =
                new Waiting(
                        request,
                        record.topic(),
                        record.partition(),
                        record.offset(),
                        record.timestampMs() > 0 ? record.timestampMs() : now);
        if (refused(waiting, now, out)) {
            return;
        }
        if (queue.size() >= serving.promptQueue()) {
            reject(
                    request.id(),
                    Reports.Answer.QUEUE_FULL,
                    Math.max(0, now - waiting.sentMs()),
                    out);
            return;
        }
        queue.addLast(waiting);
        schedule(ctx.timerService());
    }

    /** Answers an expired request, or any request while there is no model; true if it did. */
    private boolean refused(Waiting waiting, long now, Collector<TopicRecord> out) {
        long waited = Math.max(0, now - waiting.sentMs());
        if (waited > waiting.request().timeoutMs()) {
            reject(waiting.request().id(), Reports.Answer.EXPIRED, waited, out);
            return true;
        }
        if (model == null) {
            reject(waiting.request().id(), Reports.Answer.NO_MODEL, waited, out);
            return true;
        }
        return false;
    }

    private void reject(String id, String reason, long waitedMs, Collector<TopicRecord> out) {
        rejected.inc();
        out.collect(answer(Reports.Answer.error(id, reason, waitedMs)));
    }

    // ---------------------------------------------------------------- the model in

    @Override
    public void processElement2(GlobalChunk chunk, Context ctx, Collector<TopicRecord> out) {
        GlobalRounds.Round complete = globalRounds.offerWhole(chunk);
        if (complete != null) {
            newerModel = complete;
            if (current == null) {
                adoptNewerModel();
            }
        }
    }

    /**
     * Takes the newest complete version; never in the middle of an answer, which keeps one model.
     */
    private void adoptNewerModel() {
        if (newerModel == null) {
            return;
        }
        if (model == null) {
            model = host.load(spec.shape(), newerModel.parameters());
        } else {
            model.setParameterValues(newerModel.parameters());
        }
        modelRound = newerModel.round();
        modelGeneration = newerModel.head().generation();
        modelStep = newerModel.head().progress().step();
        newerModel = null;
    }

    // ---------------------------------------------------------------- answers out, a bounded slice
    // per timer

    private void schedule(TimerService timers) {
        if (!timerPending) {
            timerPending = true;
            timers.registerProcessingTimeTimer(timers.currentProcessingTime() + 1);
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<TopicRecord> out) {
        timerPending = false;
        long now = ctx.timerService().currentProcessingTime();
        while (current == null && !queue.isEmpty()) {
            Waiting next = queue.pollFirst();
            if (!refused(next, now, out)) {
                current = start(next);
            }
        }
        if (current != null) {
            long deadline = System.nanoTime() + TICK_BUDGET_MS * 1_000_000;
            do {
                current.nextToken();
            } while (!current.done() && System.nanoTime() < deadline);
            long sliceEnd = ctx.timerService().currentProcessingTime();
            if (current.done()) {
                finish(current, sliceEnd, out);
                current = null;
                adoptNewerModel();
            } else {
                publishPart(current, sliceEnd, out);
            }
        }
        if (current != null || !queue.isEmpty()) {
            schedule(ctx.timerService());
        }
    }

    private Answering start(Waiting waiting) {
        String prompt = waiting.request().prompt();
        int[] ids = vocabulary.encode(prompt);
        long unknown =
                vocabulary.kind() == Vocabulary.Kind.CHARS
                        ? prompt.codePointCount(0, prompt.length()) - ids.length
                        : 0;
        return new Answering(waiting, new Generator(model).open(ids, true), unknown);
    }

    /**
     * Publishes the text generated since the last part. The whole prefix is decoded each time (at
     * most {@link PromptRequest#MAX_TOKENS} tokens), so that a character whose bytes span two
     * firings (a bytes vocabulary) is sent whole, once complete.
     */
    private void publishPart(Answering answering, long nowMs, Collector<TopicRecord> out) {
        String sofar = vocabulary.decode(Arrays.copyOf(answering.tokens, answering.produced));
        int end = sofar.length();
        while (end > answering.published && sofar.charAt(end - 1) == '\uFFFD') {
            end--; // an incomplete character: it comes with the next part
        }
        if (end > answering.published) {
            out.collect(
                    answer(
                            Reports.Answer.part(
                                    answering.waiting.request().id(),
                                    sofar.substring(answering.published, end),
                                    modelRound,
                                    modelGeneration,
                                    modelStep,
                                    Math.max(0, nowMs - answering.waiting.sentMs()))));
            answering.published = end;
        }
    }

    /** The whole answer; its time in processing time, the clock of the request's arrival. */
    private void finish(Answering answering, long nowMs, Collector<TopicRecord> out) {
        answering.close();
        PromptRequest request = answering.waiting.request();
        out.collect(
                answer(
                        new Reports.Answer(
                                request.id(),
                                vocabulary.decode(answering.tokens),
                                null,
                                modelRound,
                                modelGeneration,
                                modelStep,
                                answering.unknownCharacters,
                                Math.max(0, nowMs - answering.waiting.sentMs()))));
        answered.inc();
        latency.update(nowMs - answering.waiting.sentMs());
    }

    private TopicRecord answer(Reports.Answer answer) {
        return new TopicRecord(topics.answers(), answer.id(), Reports.toJson(answer));
    }

    @Override
    public void close() {
        if (current != null) {
            current.close();
        }
        if (model != null) {
            model.close();
        }
    }
}
