package io.streamgpt.cli.bench;

import io.streamgpt.cli.JobOptions;
import io.streamgpt.cli.Paths;
import io.streamgpt.cli.stream.LocalStack;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.ReplicaConfig.ReplayPolicy;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.model.Vocabulary;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.core.execution.JobClient;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Adaptation to a change of the stream: the job trains on corpus A (the first 90% of tiny
 * Shakespeare) for {@code --steps-a} steps, then the stream switches to corpus B (the bundled
 * licence texts). B arrives in {@code --steps-b / --every} equal slices, slice k when the job
 * reaches step {@code steps_a + k every}, so that each slice is new text scored prequentially
 * (test-then-train) by the model of that point. Per point: the prequential loss on B's slice, the
 * loss on A's held-out last 10% ({@code --val-data}, forgetting), for the UNIFORM and the RECENT
 * replay policy, and for a fresh model fed the same slices at the same steps from step 0.
 */
@Command(
        name = "drift",
        mixinStandardHelpOptions = true,
        modelTransformer = JobOptions.class,
        description =
                "Stream corpus A, then switch to corpus B: prequential loss on B and held-out loss"
                        + " on A after the switch, for the UNIFORM and RECENT replay policies and a"
                        + " fresh model trained on B alone; one JSON object. Job options (--preset,"
                        + " --replicas, --replay-half-life-tokens, ...) apply to every run.")
public final class DriftBench implements java.util.concurrent.Callable<Integer> {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Settings each run sets itself: given as job options they would be overwritten. */
    private static final List<String> OWN_SETTINGS =
            List.of(
                    ReplicaConfig.MAX_STEPS.name(),
                    ReplicaConfig.REPLAY_POLICY.name(),
                    EvaluationConfig.INTERVAL.name(),
                    EvaluationConfig.VAL_DATA.name(),
                    EvaluationConfig.VAL_DATA_SPLIT.name(),
                    InputConfig.VOCABULARY.name(),
                    KafkaConfig.BOOTSTRAP_SERVERS.name());

    @Spec CommandSpec spec;

    @Option(
            names = "--steps-a",
            defaultValue = "600",
            description = "Steps on corpus A before the switch. Default: ${DEFAULT-VALUE}.")
    int stepsA;

    @Option(
            names = "--steps-b",
            defaultValue = "300",
            description =
                    "Steps after the switch (and of the fresh model). Default: ${DEFAULT-VALUE}.")
    int stepsB;

    @Option(
            names = "--every",
            defaultValue = "50",
            description =
                    "Steps between evaluation points, each a new slice of B; a multiple of"
                            + " --sync-every that divides --steps-a and --steps-b. Default:"
                            + " ${DEFAULT-VALUE}.")
    int every;

    @Option(
            names = "--data-a",
            description =
                    "Corpus A: its first 90% is streamed, its last 10% is the held-out set"
                            + " (default: the bundled tiny Shakespeare).")
    Path dataA;

    @Option(names = "--data-b", description = "Corpus B (default: the bundled data/licences.txt).")
    Path dataB;

    @Option(
            names = "--skip-fresh",
            description = "Do not run the fresh model on B alone (its fields are absent).")
    boolean skipFresh;

    /** What one run measured at each point: nulls where no record came. */
    record Point(
            Long stepsSinceSwitch,
            long fedAfterStep,
            Double prequentialB,
            long prequentialWindows,
            Long scoredByStep,
            Double heldOutA) {}

    @Override
    public Integer call() throws Exception {
        Map<String, String> arguments = new LinkedHashMap<>(JobOptions.arguments(spec));
        for (String own : OWN_SETTINGS) {
            if (arguments.containsKey(own)) {
                throw new IllegalArgumentException(
                        "bench drift sets --" + own + " itself for each run: do not give it");
            }
        }
        JobConfig check = JobConfig.parse(arguments);
        int syncEvery = check.sync().every();
        if (stepsA < every || stepsB < every || every < 2 * syncEvery) {
            throw new IllegalArgumentException(
                    "--steps-a and --steps-b must be >= --every, --every >= 2 x --sync-every ("
                            + 2 * syncEvery
                            + ")");
        }
        if (every % syncEvery != 0 || stepsA % every != 0 || stepsB % every != 0) {
            throw new IllegalArgumentException(
                    "--every must be a multiple of --sync-every ("
                            + syncEvery
                            + ") and divide --steps-a and --steps-b: loss records come every"
                            + " --every steps at multiples of it");
        }
        Path fileA = dataA != null ? dataA : Paths.shakespeare();
        Path fileB = dataB != null ? dataB : Paths.home().resolve("data").resolve("licences.txt");
        String textA =
                Vocabulary.normalizeNewlines(Files.readString(fileA, StandardCharsets.UTF_8));
        String textB =
                Vocabulary.normalizeNewlines(Files.readString(fileB, StandardCharsets.UTF_8));
        // the reference's split: the first 90% of the characters trains, the last 10% is val
        String trainA = textA.substring(0, (int) (textA.length() * 0.9));
        // both corpora in one vocabulary, fixed for the job's life: B's digits and brackets are
        // not in Shakespeare's 65 characters
        Vocabulary vocabulary = Vocabulary.ofText(textA + textB);
        int points = stepsB / every;
        List<byte[]> slices = slices(textB, points);
        arguments.putIfAbsent(EvaluationConfig.PREQUENTIAL_EVERY.name(), "4");
        arguments.putIfAbsent(EvaluationConfig.ITERS.name(), "20");
        arguments.putIfAbsent(EvaluationConfig.SAMPLE_TOKENS.name(), "0");
        arguments.putIfAbsent(CheckpointConfig.INTERVAL_MS.name(), "0");
        arguments.put(InputConfig.VOCABULARY.name(), vocabulary.spec());
        arguments.put(EvaluationConfig.INTERVAL.name(), String.valueOf(every));
        arguments.put(EvaluationConfig.VAL_DATA.name(), fileA.toAbsolutePath().toString());
        arguments.put(
                EvaluationConfig.VAL_DATA_SPLIT.name(), EvaluationConfig.HeldOutSplit.VAL.name());

        PrintWriter log = spec.commandLine().getErr();
        long started = System.nanoTime();
        ObjectNode result = JSON.createObjectNode();
        List<Point> uniform;
        List<Point> recent;
        List<Point> fresh = null;
        JobConfig shown;
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            arguments.put(KafkaConfig.BOOTSTRAP_SERVERS.name(), kafka.bootstrapServers());
            byte[] streamA = trainA.getBytes(StandardCharsets.UTF_8);
            log.println("live model, UNIFORM replay: " + stepsA + " steps on A, then B ...");
            shown = config(arguments, ReplayPolicy.UNIFORM);
            uniform = run(shown, streamA, slices, stepsA, log);
            log.println("live model, RECENT replay ...");
            recent = run(config(arguments, ReplayPolicy.RECENT), streamA, slices, stepsA, log);
            if (!skipFresh) {
                log.println("fresh model on B alone ...");
                fresh = run(config(arguments, ReplayPolicy.UNIFORM), null, slices, 0, log);
            }
        }
        result.put("preset", arguments.getOrDefault("preset", "cpu"));
        result.put("replicas", shown.replicas().count());
        result.put("n_layer", shown.model().nLayer());
        result.put("n_embd", shown.model().nEmbd());
        result.put("block_size", shown.model().blockSize());
        result.put("batch_size", shown.training().batchSize());
        result.put("sync_every", syncEvery);
        result.put("steps_a", stepsA);
        result.put("steps_b", stepsB);
        result.put("every", every);
        result.put("prequential_every", shown.evaluation().prequentialEvery());
        result.put("held_out_iters", shown.evaluation().iters());
        result.put("replay_half_life_tokens", shown.replicas().replayHalfLifeTokens());
        result.put("buffer_tokens", shown.replicas().bufferTokens());
        result.put("vocab", vocabulary.toString());
        result.put("corpus_a_stream_chars", trainA.length());
        result.put("corpus_b_chars", textB.length());
        result.put("b_slice_bytes", slices.get(0).length);
        result.set("points", points(uniform, recent, fresh, every));
        result.set("summary", summary(uniform, recent, fresh));
        result.put("seconds", Math.round((System.nanoTime() - started) / 1e9));
        result.put("load_1m", SyncBench.loadAverage());
        spec.commandLine().getOut().println(JSON.writeValueAsString(result));
        return 0;
    }

    /** The job's settings for one run, on its own topics. */
    private static JobConfig config(Map<String, String> arguments, ReplayPolicy policy) {
        Map<String, String> run = new LinkedHashMap<>(arguments);
        run.put(ReplicaConfig.REPLAY_POLICY.name(), policy.name());
        // trains until the bench has what it needs and cancels it: when all of B is in depends
        // on how fast the replicas take in windows, not on a step count fixed in advance
        run.put(ReplicaConfig.MAX_STEPS.name(), "0");
        String prefix = "drift-" + UUID.randomUUID().toString().substring(0, 8);
        return JobConfig.parse(run)
                .withTopics(
                        t ->
                                TopicsConfig.prefixed(prefix)
                                        .with(TopicsConfig.MODEL_SECRET, t.modelSecret()));
    }

    /** Tokens of UTF-8 text in a character vocabulary: its code points. */
    private static long tokens(byte[] utf8) {
        String text = new String(utf8, StandardCharsets.UTF_8);
        return text.codePointCount(0, text.length());
    }

    /** {@code text} cut into {@code count} contiguous slices of equal length (the last longer). */
    static List<byte[]> slices(String text, int count) {
        List<byte[]> slices = new ArrayList<>();
        int size = text.length() / count;
        for (int k = 0; k < count; k++) {
            int end = k == count - 1 ? text.length() : (k + 1) * size;
            slices.add(text.substring(k * size, end).getBytes(StandardCharsets.UTF_8));
        }
        return slices;
    }

    /**
     * One job: corpus A (if any) at once, then B's slice k once the job has reached step {@code
     * switchStep + k every} and its replicas have received all text fed before (the lineage
     * records' token offsets: a replica takes in windows between its steps, so a large corpus
     * arrives over hundreds of steps, and a slice fed earlier would queue behind it). The
     * prequential and held-out records of each point.
     */
    private List<Point> run(
            JobConfig config, byte[] streamA, List<byte[]> slices, int switchStep, PrintWriter log)
            throws Exception {
        LocalStack.prepareTopics(config, null);
        int stride =
                config.input().stride() > 0 ? config.input().stride() : config.model().blockSize();
        long slack = 3L * stride; // a held-out last window and the partial one after it
        long[] fedAt = new long[slices.size() + 1];
        long[] bounds = new long[slices.size() + 1]; // token offsets where the slices start
        JobClient job = LocalStack.startJob(config, null);
        try (TextFeeder feeder =
                        new TextFeeder(
                                config.kafka().clientSettings(),
                                config.topics().text().get(0),
                                4096);
                Progress progress = new Progress(config, job)) {
            long fed = 0;
            if (streamA != null) {
                feeder.feed(new ByteArrayInputStream(streamA), n -> {});
                fed += tokens(streamA);
            }
            for (int k = 0; k < slices.size(); k++) {
                progress.await((long) switchStep + (long) k * every, fed - slack);
                fedAt[k] = progress.step;
                bounds[k] = fed;
                feeder.feed(new ByteArrayInputStream(slices.get(k)), n -> {});
                fed += tokens(slices.get(k));
                log.printf(
                        "  slice %d of B fed at step %d (the newest the bench had seen)%n",
                        k, fedAt[k]);
            }
            // the last slice is scored by versions up to one point later
            bounds[slices.size()] = fed;
            progress.await(fedAt[slices.size() - 1] + every, fed - slack);
            fedAt[slices.size()] = progress.step;
        } finally {
            job.cancel().get(60, TimeUnit.SECONDS);
        }
        List<EvalRecords.ModelLoss> prequential =
                LossReader.readAll(
                        config.kafka().clientSettings(),
                        config.topics().losses(),
                        EvalRecords.PREQUENTIAL,
                        Duration.ofSeconds(30));
        List<EvalRecords.ModelLoss> heldOut =
                LossReader.readAll(
                        config.kafka().clientSettings(),
                        config.topics().losses(),
                        EvalRecords.VAL_DATA,
                        Duration.ofSeconds(30));
        List<EvalRecords.Lineage> lineage =
                LossReader.readAll(
                        config.kafka().clientSettings(),
                        config.topics().losses(),
                        EvalRecords.LINEAGE,
                        EvalRecords.Lineage.class,
                        Duration.ofSeconds(30));
        return points(prequential, lineage, heldOut, bounds, fedAt, config.model().blockSize() + 1);
    }

    /**
     * Which slice a prequential record scored: the record of version v holds the windows a replica
     * received while it held v, up to adopting v + 1, and the lineage record of round v + 1 says
     * how far into the stream the replicas had received when they contributed to it, just before.
     * So the newest window the record can hold starts at {@code offset(v + 1) - width}, and the
     * record is slice k's when that start lies in {@code [bounds[k], bounds[k+1])}; before {@code
     * bounds[0]} it is A's. (With several replicas the offset is the furthest replica's: a record
     * at a slice's edge may be counted with the slice before.) Point k's loss is the
     * windows-weighted mean of its records, {@code scored_by_step} their weighted mean version
     * step; its held-out loss on A is the newest val_data record at or before step {@code
     * fedAt[k]}, the model of the slice's start.
     */
    static List<Point> points(
            List<EvalRecords.ModelLoss> prequential,
            List<EvalRecords.Lineage> lineage,
            List<EvalRecords.ModelLoss> heldOut,
            long[] bounds,
            long[] fedAt,
            int width) {
        java.util.TreeMap<Long, Long> offsetByRound = new java.util.TreeMap<>();
        for (EvalRecords.Lineage l : lineage) {
            long furthest =
                    l.offsets().values().stream().mapToLong(Long::longValue).max().orElse(0);
            offsetByRound.merge(l.round(), furthest, Math::max);
        }
        int count = bounds.length - 1;
        double[] lossSum = new double[count];
        double[] stepSum = new double[count];
        long[] windows = new long[count];
        for (EvalRecords.ModelLoss r : prequential) {
            var next = offsetByRound.ceilingEntry(r.round() + 1);
            if (next == null) {
                next = offsetByRound.floorEntry(r.round() + 1);
            }
            if (next == null || r.loss() == null || r.windows() == 0) {
                continue;
            }
            long newestStart = next.getValue() - width;
            for (int k = 0; k < count; k++) {
                if (newestStart >= bounds[k] && (newestStart < bounds[k + 1] || k == count - 1)) {
                    lossSum[k] += r.loss() * r.windows();
                    stepSum[k] += (double) r.step() * r.windows();
                    windows[k] += r.windows();
                }
            }
        }
        List<Point> points = new ArrayList<>();
        Long firstScored = windows[0] == 0 ? null : Math.round(stepSum[0] / windows[0]);
        for (int k = 0; k < count; k++) {
            long at = fedAt[k];
            Double held =
                    heldOut.stream()
                            .filter(r -> r.step() <= at && r.loss() != null)
                            .max(java.util.Comparator.comparingLong(EvalRecords.ModelLoss::step))
                            .map(r -> (double) r.loss())
                            .orElse(null);
            Long scored = windows[k] == 0 ? null : Math.round(stepSum[k] / windows[k]);
            points.add(
                    new Point(
                            scored == null || firstScored == null ? null : scored - firstScored,
                            fedAt[k],
                            windows[k] == 0 ? null : lossSum[k] / windows[k],
                            windows[k],
                            scored,
                            held));
        }
        return points;
    }

    /**
     * Follows the losses topic: the newest loss record's step and the newest lineage record's token
     * offset (the text the replicas have received).
     */
    private static final class Progress implements AutoCloseable {
        private final KafkaConsumer<String, String> consumer;
        private final JobClient job;
        long step = -1;
        long received = 0;

        Progress(JobConfig config, JobClient job) {
            this.job = job;
            this.consumer =
                    KafkaStreams.textConsumer(config.kafka().clientSettings(), "drift-bench");
            consumer.subscribe(List.of(config.topics().losses()));
        }

        /**
         * Until a loss record of step {@code >= atLeastStep} and a lineage record of offset {@code
         * >= tokens} came (steps 0 and below need no record); fails when the job ends or after 20
         * minutes.
         */
        void await(long atLeastStep, long tokens) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(20);
            while (!(step >= atLeastStep || atLeastStep <= 0) || received < tokens) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(
                            "no loss record of step "
                                    + atLeastStep
                                    + " with "
                                    + tokens
                                    + " tokens received within 20 minutes (step "
                                    + step
                                    + ", "
                                    + received
                                    + " received)");
                }
                for (ConsumerRecord<String, String> record :
                        consumer.poll(Duration.ofMillis(200))) {
                    EvalRecords.LossesTopicRecord parsed =
                            EvalRecords.LossesTopicRecord.parse(record.value());
                    EvalRecords.Lineage lineage =
                            EvalRecords.LINEAGE.equals(parsed.kind())
                                    ? parsed.as(EvalRecords.Lineage.class)
                                    : null;
                    if (parsed.loss() != null) {
                        step = Math.max(step, parsed.loss().step());
                    } else if (lineage != null) {
                        for (long offset : lineage.offsets().values()) {
                            received = Math.max(received, offset);
                        }
                        step = Math.max(step, lineage.step()); // every round: fresher
                    }
                }
                if (job.getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                    throw new IllegalStateException(
                            "the job ended at step " + step + ": " + job.getJobStatus().get());
                }
            }
            if (atLeastStep <= 0 && step < 0) {
                step = 0;
            }
        }

        @Override
        public void close() {
            consumer.close();
        }
    }

    private static ArrayNode points(
            List<Point> uniform, List<Point> recent, List<Point> fresh, int every) {
        ArrayNode array = JSON.createArrayNode();
        for (int k = 0; k < uniform.size(); k++) {
            ObjectNode point = array.addObject();
            point.put("point", k);
            point.put("nominal_steps_since_switch", (long) k * every);
            put(point.putObject("uniform"), uniform.get(k), true);
            put(point.putObject("recent"), recent.get(k), true);
            if (fresh != null) {
                put(point.putObject("fresh"), fresh.get(k), false);
            }
        }
        return array;
    }

    private static void put(ObjectNode node, Point p, boolean heldOut) {
        if (p.stepsSinceSwitch() != null) {
            node.put("steps_since_switch", p.stepsSinceSwitch());
        }
        node.put("fed_after_step", p.fedAfterStep());
        putRounded(node, "prequential_b_loss", p.prequentialB());
        node.put("prequential_b_windows", p.prequentialWindows());
        if (p.scoredByStep() != null) {
            node.put("scored_by_step", p.scoredByStep());
        }
        if (heldOut) {
            putRounded(node, "held_out_a_loss", p.heldOutA());
        }
    }

    private static void putRounded(ObjectNode node, String name, Double value) {
        if (value == null) {
            node.putNull(name);
        } else {
            node.put(name, Math.round(value * 1000) / 1000.0);
        }
    }

    /**
     * The last point against the first: does the live model predict B better than a fresh one
     * (transfer), how much of A did it forget, and what RECENT changes.
     */
    static ObjectNode summary(List<Point> uniform, List<Point> recent, List<Point> fresh) {
        ObjectNode summary = JSON.createObjectNode();
        Point u0 = uniform.get(0);
        Point uN = uniform.get(uniform.size() - 1);
        Point r0 = recent.get(0);
        Point rN = recent.get(recent.size() - 1);
        putRounded(summary, "uniform_prequential_b_first", u0.prequentialB());
        putRounded(summary, "uniform_prequential_b_last", uN.prequentialB());
        putRounded(summary, "recent_prequential_b_last", rN.prequentialB());
        putRounded(
                summary, "uniform_held_out_a_increase", difference(uN.heldOutA(), u0.heldOutA()));
        putRounded(summary, "recent_held_out_a_increase", difference(rN.heldOutA(), r0.heldOutA()));
        putRounded(
                summary,
                "recent_minus_uniform_prequential_b_last",
                difference(rN.prequentialB(), uN.prequentialB()));
        putRounded(
                summary,
                "recent_minus_uniform_held_out_a_last",
                difference(rN.heldOutA(), uN.heldOutA()));
        if (fresh != null) {
            Point fN = fresh.get(fresh.size() - 1);
            putRounded(summary, "fresh_prequential_b_last", fN.prequentialB());
            summary.put("uniform_below_fresh_at_last", below(uN.prequentialB(), fN.prequentialB()));
            summary.put("recent_below_fresh_at_last", below(rN.prequentialB(), fN.prequentialB()));
        }
        return summary;
    }

    private static Double difference(Double a, Double b) {
        return a == null || b == null ? null : a - b;
    }

    private static Boolean below(Double a, Double b) {
        return a == null || b == null ? null : a < b;
    }
}
