package io.streamgpt.cli.bench;

import io.streamgpt.cli.JobOptions;
import io.streamgpt.cli.Paths;
import io.streamgpt.cli.stream.LocalStack;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
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
            int stepsSinceSwitch,
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
            shown = config(arguments, ReplayPolicy.UNIFORM, stepsA + stepsB);
            uniform = run(shown, streamA, slices, stepsA, log);
            log.println("live model, RECENT replay ...");
            recent =
                    run(
                            config(arguments, ReplayPolicy.RECENT, stepsA + stepsB),
                            streamA,
                            slices,
                            stepsA,
                            log);
            if (!skipFresh) {
                log.println("fresh model on B alone ...");
                fresh = run(config(arguments, ReplayPolicy.UNIFORM, stepsB), null, slices, 0, log);
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
        result.set("points", points(uniform, recent, fresh));
        result.set("summary", summary(uniform, recent, fresh));
        result.put("seconds", Math.round((System.nanoTime() - started) / 1e9));
        result.put("load_1m", SyncBench.loadAverage());
        spec.commandLine().getOut().println(JSON.writeValueAsString(result));
        return 0;
    }

    /** The job's settings for one run, on its own topics. */
    private static JobConfig config(
            Map<String, String> arguments, ReplayPolicy policy, long maxSteps) {
        Map<String, String> run = new LinkedHashMap<>(arguments);
        run.put(ReplicaConfig.REPLAY_POLICY.name(), policy.name());
        run.put(ReplicaConfig.MAX_STEPS.name(), String.valueOf(maxSteps));
        String prefix = "drift-" + UUID.randomUUID().toString().substring(0, 8);
        return JobConfig.parse(run)
                .withTopics(
                        t ->
                                TopicsConfig.prefixed(prefix)
                                        .with(TopicsConfig.MODEL_SECRET, t.modelSecret()));
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
     * One job: corpus A (if any) at once, then B's slice k when the job's loss record of step
     * {@code switchStep + k every} arrives; the prequential and held-out records of each point.
     */
    private List<Point> run(
            JobConfig config, byte[] streamA, List<byte[]> slices, int switchStep, PrintWriter log)
            throws Exception {
        LocalStack.prepareTopics(config, null);
        long lastStep = switchStep + (long) slices.size() * every;
        JobClient job = LocalStack.startJob(config, null);
        try (TextFeeder feeder =
                        new TextFeeder(
                                config.kafka().clientSettings(),
                                config.topics().text().get(0),
                                4096);
                KafkaConsumer<String, String> losses =
                        KafkaStreams.textConsumer(config.kafka().clientSettings(), "drift-bench")) {
            losses.subscribe(List.of(config.topics().losses()));
            if (streamA != null) {
                feeder.feed(new ByteArrayInputStream(streamA), n -> {});
            }
            for (int k = 0; k < slices.size(); k++) {
                long threshold = switchStep + (long) k * every;
                if (threshold > 0) {
                    awaitStep(losses, job, threshold);
                }
                feeder.feed(new ByteArrayInputStream(slices.get(k)), n -> {});
                log.printf("  slice %d of B fed at step %d%n", k, threshold);
            }
            awaitStep(losses, job, lastStep);
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
        return points(
                prequential, heldOut, switchStep, every, slices.size(), config.sync().every());
    }

    /**
     * Slice k's windows are scored by the version a replica holds when they arrive: the one of step
     * {@code switch + k every}, or the one before it (a replica may adopt a version after the
     * evaluator reported it), or later ones while the slice is still arriving. So point k takes the
     * prequential records of steps in {@code [switch + k every - K, switch + (k + 1) every - K)},
     * the last point everything from its start on; its loss is their windows-weighted mean. The
     * held-out loss of point k is the val_data record of step {@code switch + k every}: the model
     * the slice was scored by.
     */
    static List<Point> points(
            List<EvalRecords.ModelLoss> prequential,
            List<EvalRecords.ModelLoss> heldOut,
            long switchStep,
            int every,
            int count,
            int syncEvery) {
        List<Point> points = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            long from = switchStep + (long) k * every - syncEvery;
            long to = k == count - 1 ? Long.MAX_VALUE : from + every;
            double lossSum = 0;
            long windows = 0;
            double stepSum = 0;
            for (EvalRecords.ModelLoss r : prequential) {
                if (r.step() >= from && r.step() < to && r.loss() != null && r.windows() > 0) {
                    lossSum += r.loss() * r.windows();
                    stepSum += (double) r.step() * r.windows();
                    windows += r.windows();
                }
            }
            long at = switchStep + (long) k * every;
            Double held =
                    heldOut.stream()
                            .filter(r -> r.step() == at && r.loss() != null)
                            .map(r -> (double) r.loss())
                            .findFirst()
                            .orElse(null);
            points.add(
                    new Point(
                            k * every,
                            windows == 0 ? null : lossSum / windows,
                            windows,
                            windows == 0 ? null : Math.round(stepSum / windows),
                            held));
        }
        return points;
    }

    /** Waits for the loss record of {@code step}; fails when the job ends or 20 minutes pass. */
    private static void awaitStep(KafkaConsumer<String, String> losses, JobClient job, long step)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(20);
        while (System.nanoTime() < deadline) {
            for (ConsumerRecord<String, String> record : losses.poll(Duration.ofMillis(200))) {
                Reports.LossRecord loss = EvalRecords.lossRecordOrNull(record.value());
                if (loss != null && loss.step() >= step) {
                    return;
                }
            }
            if (job.getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState()) {
                throw new IllegalStateException(
                        "the job ended before step " + step + ": " + job.getJobStatus().get());
            }
        }
        throw new IllegalStateException("no loss record of step " + step + " within 20 minutes");
    }

    private static ArrayNode points(List<Point> uniform, List<Point> recent, List<Point> fresh) {
        ArrayNode array = JSON.createArrayNode();
        for (int k = 0; k < uniform.size(); k++) {
            ObjectNode point = array.addObject();
            point.put("steps_since_switch", uniform.get(k).stepsSinceSwitch());
            put(point.putObject("uniform"), uniform.get(k), true);
            put(point.putObject("recent"), recent.get(k), true);
            if (fresh != null) {
                put(point.putObject("fresh"), fresh.get(k), false);
            }
        }
        return array;
    }

    private static void put(ObjectNode node, Point p, boolean heldOut) {
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
