package io.streamgpt.cli.bench;

import io.streamgpt.cli.Paths;
import io.streamgpt.cli.stream.LocalStack;
import io.streamgpt.connectors.chunks.Fragments;
import io.streamgpt.connectors.chunks.ModelLoopAuthenticator;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.client.ModelTopicReader;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.job.replica.SimulatedStep;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.ModelPreset;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.TrainingConfig;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Metric;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * The synchronisation path at accelerator step times: N replicas of a preset in the real job
 * (averager, model topic, broadcast back; in-process Kafka and a MiniCluster) whose steps sleep
 * {@code --simulated-step-ms} instead of computing ({@link SimulatedStep}), so the replicas do not
 * compete for the cores the transport needs, with the preset's real parameter vector. Each replica
 * moves its parameters by a known amount per step, so the final global model is checked against the
 * closed form. Per scheme and N, from the replicas' own metrics over the measured rounds:
 *
 * <pre>
 *   wait_fraction = sum_r waited_r / (N * wall)       time a replica could not step
 *   step_fraction = sum_r steps_r * step_ms / (N * wall)
 *   round_ms_p50, round_ms_p99: from sending a round to adopting its global model, all replicas
 *   bytes_sent/received_per_round_per_replica: serialized chunk bytes (ModelChunkFormat)
 * </pre>
 *
 * With {@code --fragments F > 1} (streamed fragments, {@code --sync-fragments}) a round is a
 * fragment round, every K / F steps, carrying about 1 / F of the vector; rounds are counted and
 * timed as such. The merge keeps every local step (global + (local - sent)), so what a replica
 * sends in round r is its initial model shifted by r x K / F steps, and each fragment of the final
 * global model is checked against the closed form of its own newest round r_f: initial + r_f x (K /
 * F) x delta x (N + 1) / 2.
 */
@Command(
        name = "sync",
        mixinStandardHelpOptions = true,
        description =
                "Sync rounds at simulated accelerator step times: wait fraction, round latency and"
                        + " bytes per round for N replicas and each sync scheme.")
public final class SyncBench implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
            names = "--preset",
            split = ",",
            defaultValue = "reference",
            description =
                    "Model presets whose parameter vectors are synchronised; with two or more"
                            + " (e.g. cpu,reference) and two or more replica counts the JSON"
                            + " adds the cost model fitted to the plain SYNC rounds. Default:"
                            + " ${DEFAULT-VALUE}.")
    List<String> presets;

    @Option(
            names = "--replicas",
            split = ",",
            defaultValue = "1,2,4,8",
            description = "Replica counts N. Default: ${DEFAULT-VALUE}.")
    List<Integer> replicaCounts;

    @Option(
            names = "--schemes",
            split = ",",
            defaultValue = "sync,overlap,bf16,int8",
            description =
                    "Sync schemes: sync (SYNC, fp32), overlap (OVERLAP, fp32), bf16 and int8"
                            + " (SYNC, compressed deltas), overlap-bf16 and overlap-int8 (OVERLAP,"
                            + " compressed deltas). Default: ${DEFAULT-VALUE}.")
    List<String> schemes;

    @Option(
            names = "--fragments",
            split = ",",
            defaultValue = "1",
            description =
                    "Streamed fragment counts F (--sync-fragments) per scheme."
                            + " Default: ${DEFAULT-VALUE}.")
    List<Integer> fragmentCounts;

    @Option(
            names = "--simulated-step-ms",
            defaultValue = "30",
            description = "Duration of a simulated step. Default: ${DEFAULT-VALUE}.")
    long stepMs;

    @Option(
            names = "--sync-every",
            defaultValue = "10",
            description = "K: steps per round. Default: ${DEFAULT-VALUE}.")
    int syncEvery;

    @Option(
            names = "--rounds",
            defaultValue = "20",
            description = "Measured rounds per replica. Default: ${DEFAULT-VALUE}.")
    int rounds;

    @Option(
            names = "--warmup-rounds",
            defaultValue = "3",
            description = "Unmeasured rounds first. Default: ${DEFAULT-VALUE}.")
    int warmupRounds;

    @Option(
            names = "--averager-parallelism",
            defaultValue = "1",
            description = "Subtasks of the parameter averager. Default: ${DEFAULT-VALUE}.")
    int averagerParallelism;

    @Option(
            names = "--model-source-parallelism",
            defaultValue = "1",
            description = "Subtasks reading the model topic. Default: ${DEFAULT-VALUE}.")
    int modelSourceParallelism;

    @Option(
            names = "--chunk-size",
            defaultValue = "131072",
            description = "Parameters per model chunk. Default: ${DEFAULT-VALUE}.")
    int chunkSize;

    @Override
    public Integer call() throws Exception {
        if (stepMs < 1 || syncEvery < 1 || rounds < 2 || warmupRounds < 1) {
            throw new IllegalArgumentException(
                    "--simulated-step-ms and --sync-every must be >= 1, --rounds >= 2,"
                            + " --warmup-rounds >= 1");
        }
        for (String scheme : schemes) {
            scheme(scheme); // unknown names fail before anything starts
        }
        for (int f : fragmentCounts) {
            if (f < 1 || syncEvery % f != 0) {
                throw new IllegalArgumentException(
                        "--fragments must divide --sync-every (" + syncEvery + "), got " + f);
            }
        }
        TorchRuntime.configure(1);
        PrintWriter log = spec.commandLine().getErr();
        ObjectMapper json = new ObjectMapper();
        ObjectNode result = json.createObjectNode();
        presets.forEach(result.putArray("presets")::add);
        result.put("simulated_step_ms", stepMs);
        result.put("sync_every", syncEvery);
        result.put("measured_rounds", rounds);
        result.put("averager_parallelism", averagerParallelism);
        result.put("model_source_parallelism", modelSourceParallelism);
        result.put("cores", Runtime.getRuntime().availableProcessors());
        ArrayNode runs = result.putArray("runs");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            for (String preset : presets) {
                float[] initial = null;
                for (String scheme : schemes) {
                    for (int fragments : fragmentCounts) {
                        for (int n : replicaCounts) {
                            JobConfig config =
                                    config(kafka, preset, n, fragments).withSync(scheme(scheme));
                            if (initial == null) {
                                try (Gpt model =
                                        Gpt.create(
                                                config.model(),
                                                config.training().seed(),
                                                Device.cpu())) {
                                    initial = model.parameterValues();
                                }
                            }
                            log.println(
                                    "bench sync: "
                                            + scheme
                                            + ", "
                                            + fragments
                                            + " fragment(s), "
                                            + n
                                            + " replicas ...");
                            ObjectNode run = runs.addObject();
                            run.put("preset", preset);
                            run.put("parameters", initial.length);
                            run.put("scheme", scheme);
                            run.put("fragments", fragments);
                            run.put("replicas", n);
                            measure(config, initial, run);
                            log.println("  " + run);
                        }
                    }
                }
            }
        }
        putCostModel(runs, result);
        spec.commandLine().getOut().println(json.writeValueAsString(result));
        return 0;
    }

    /**
     * The {@link SyncCostModel} of the plain SYNC fp32 rounds (one point per run: its p50 against
     * the megabytes each replica sent per round), when the runs span two payloads and two replica
     * counts.
     */
    static void putCostModel(ArrayNode runs, ObjectNode result) {
        List<SyncCostModel.Point> points = new ArrayList<>();
        for (var run : runs) {
            if (run.get("scheme").asText().equals("sync") && run.get("fragments").asInt() == 1) {
                points.add(
                        new SyncCostModel.Point(
                                run.get("replicas").asInt(),
                                run.get("bytes_sent_per_round_per_replica").asDouble() / 1e6,
                                run.get("round_ms_p50").asDouble()));
            }
        }
        long payloads =
                points.stream().mapToDouble(SyncCostModel.Point::megabytes).distinct().count();
        long counts = points.stream().mapToInt(SyncCostModel.Point::replicas).distinct().count();
        if (points.size() < 4 || payloads < 2 || counts < 2) {
            return;
        }
        SyncCostModel model = SyncCostModel.fit(points);
        ObjectNode node = result.putObject("cost_model");
        node.put(
                "formula", "round_ms = fixed_ms + ms_per_mb * MB + ms_per_mb_per_replica * N * MB");
        node.put("points", points.size());
        node.put("fixed_ms", Math.round(model.fixedMs() * 10) / 10.0);
        node.put("ms_per_mb", Math.round(model.msPerMegabyte() * 1000) / 1000.0);
        node.put(
                "ms_per_mb_per_replica",
                Math.round(model.msPerMegabytePerReplica() * 1000) / 1000.0);
        node.put("r_squared", Math.round(model.rSquared() * 1000) / 1000.0);
    }

    /**
     * How a scheme name sets the sync section: {@code sync} or {@code overlap} (the mode, fp32),
     * {@code bf16} or {@code int8} (SYNC, compressed deltas), {@code overlap-bf16} or {@code
     * overlap-int8} (both).
     */
    static UnaryOperator<SyncConfig> scheme(String name) {
        SyncScheme scheme = SCHEMES.get(name);
        if (scheme == null) {
            throw new IllegalArgumentException(
                    "unknown sync scheme " + name + ": " + String.join(", ", SCHEMES.keySet()));
        }
        return s ->
                s.with(SyncConfig.MODE, scheme.mode()).with(SyncConfig.ENCODING, scheme.encoding());
    }

    private record SyncScheme(SyncConfig.Mode mode, PayloadEncoding encoding) {}

    /** Every scheme name, spelled out: no name is assembled from parts. */
    private static final Map<String, SyncScheme> SCHEMES = schemes();

    private static Map<String, SyncScheme> schemes() {
        Map<String, SyncScheme> schemes = new LinkedHashMap<>();
        schemes.put("sync", new SyncScheme(SyncConfig.Mode.SYNC, PayloadEncoding.FP32));
        schemes.put("overlap", new SyncScheme(SyncConfig.Mode.OVERLAP, PayloadEncoding.FP32));
        schemes.put("bf16", new SyncScheme(SyncConfig.Mode.SYNC, PayloadEncoding.BF16));
        schemes.put("int8", new SyncScheme(SyncConfig.Mode.SYNC, PayloadEncoding.INT8));
        schemes.put("overlap-bf16", new SyncScheme(SyncConfig.Mode.OVERLAP, PayloadEncoding.BF16));
        schemes.put("overlap-int8", new SyncScheme(SyncConfig.Mode.OVERLAP, PayloadEncoding.INT8));
        return Collections.unmodifiableMap(schemes);
    }

    private JobConfig config(EmbeddedKafka kafka, String preset, int replicas, int fragments) {
        String prefix = "sync-" + UUID.randomUUID().toString().substring(0, 8);
        // with fragments a round every K / F steps
        long maxSteps = (long) (warmupRounds + rounds + 1) * (syncEvery / fragments);
        return JobConfig.parse(Map.of(ModelPreset.PARAM.name(), preset))
                .withKafka(k -> k.with(KafkaConfig.BOOTSTRAP_SERVERS, kafka.bootstrapServers()))
                .withTopics(t -> TopicsConfig.prefixed(prefix))
                .withReplicas(
                        r ->
                                r.with(ReplicaConfig.COUNT, replicas)
                                        .with(ReplicaConfig.MAX_STEPS, maxSteps)
                                        .with(ReplicaConfig.SIMULATED_STEP_MS, stepMs))
                .withSync(
                        s ->
                                s.with(SyncConfig.EVERY, syncEvery)
                                        .with(SyncConfig.FRAGMENTS, fragments)
                                        .with(SyncConfig.TIMEOUT_MS, 60_000L)
                                        .with(SyncConfig.CHUNK_SIZE, chunkSize)
                                        .with(SyncConfig.AVERAGER_PARALLELISM, averagerParallelism)
                                        .with(
                                                SyncConfig.MODEL_SOURCE_PARALLELISM,
                                                modelSourceParallelism))
                // simulated steps ignore their batches; the evaluator's one validation loss (at the
                // first round) is then one sequence, not a reference batch that would hold up the
                // broadcast model topic for seconds
                .withTraining(t -> t.with(TrainingConfig.BATCH_SIZE, 1))
                .withEvaluation( // no further validation losses, no samples, no prequential
                        // scoring (a real forward pass of the preset beside simulated steps)
                        e ->
                                e.with(EvaluationConfig.INTERVAL, Integer.MAX_VALUE)
                                        .with(EvaluationConfig.ITERS, 1)
                                        .with(EvaluationConfig.SAMPLE_INTERVAL, Integer.MAX_VALUE)
                                        .with(EvaluationConfig.SAMPLE_TOKENS, 0)
                                        .with(EvaluationConfig.PREQUENTIAL_EVERY, 0))
                .withCheckpoints(c -> c.with(CheckpointConfig.INTERVAL_MS, 0L));
    }

    /** One job of the scheme and N: its figures into {@code run}. */
    private void measure(JobConfig config, float[] initial, ObjectNode run) throws Exception {
        int n = config.replicas().count();
        String id = UUID.randomUUID().toString();
        Configuration reporter = new Configuration();
        reporter.setString(
                "metrics.reporter.syncbench.factory.class",
                ReplicaMetricsReporter.Factory.class.getName());
        reporter.setString("metrics.reporter.syncbench.run", id);
        LocalStack.prepareTopics(config, Paths.shakespeare());
        run.put("load_1m_at_start", loadAverage());
        JobClient job = LocalStack.startJob(config, null, 0, reporter);
        try {
            Map<Integer, Map<String, Metric>> metrics = ReplicaMetricsReporter.of(id);
            long maxSteps = config.replicas().maxSteps();
            Snapshot from;
            Snapshot to;
            try {
                from = awaitRounds(metrics, n, warmupRounds, maxSteps);
                to = awaitRounds(metrics, n, warmupRounds + rounds, maxSteps);
            } catch (RoundsStopped e) {
                run.put("incomplete", e.getMessage());
                return;
            }
            double wallMs = (to.nanos - from.nanos) / 1e6;
            long measuredRounds = to.rounds - from.rounds; // over all replicas
            run.put("wait_fraction", round4((to.waitedMs - from.waitedMs) / (n * wallMs)));
            run.put(
                    "step_fraction",
                    round4((to.steps - from.steps) * (double) stepMs / (n * wallMs)));
            double[] latencies = latencies(metrics, n, from, to);
            run.put("round_ms_p50", percentile(latencies, 0.50));
            run.put("round_ms_p99", percentile(latencies, 0.99));
            run.put("round_ms_max", Arrays.stream(latencies).max().orElse(Double.NaN));
            run.put(
                    "round_period_ms",
                    Math.round(wallMs / ((double) measuredRounds / n) * 10) / 10.0);
            run.put(
                    "bytes_sent_per_round_per_replica",
                    Math.round((double) (to.bytesSent - from.bytesSent) / measuredRounds));
            run.put(
                    "bytes_received_per_round_per_replica",
                    Math.round((double) (to.bytesReceived - from.bytesReceived) / measuredRounds));
            run.put("load_1m_at_end", loadAverage());
            // OVERLAP sends the merged parameters, global + (local - sent), so each replica's
            // round r + 1 is round r's global model + its K steps: the same closed form as SYNC
            checkGlobalModel(config, initial, metrics, run);
        } finally {
            job.cancel().get(60, TimeUnit.SECONDS);
            ReplicaMetricsReporter.forget(id);
        }
    }

    /**
     * After the last round, the newest global model against the closed form of {@link
     * SimulatedStep}: initial + R * K * delta * (N + 1) / 2, every parameter.
     */
    private void checkGlobalModel(
            JobConfig config,
            float[] initial,
            Map<Integer, Map<String, Metric>> metrics,
            ObjectNode run)
            throws InterruptedException {
        int n = config.replicas().count();
        int stepsPerRound = config.sync().stepsPerRound();
        int fragmentCount = config.sync().fragments();
        long lastRound = config.replicas().maxSteps() / stepsPerRound;
        awaitRounds(metrics, n, lastRound, config.replicas().maxSteps());
        ModelTopicReader.Newest newest =
                ModelTopicReader.newest(
                        config.kafka().clientSettings(),
                        config.topics().model(),
                        ModelLoopAuthenticator.fromSecret(config.topics().modelSecret()),
                        initial.length,
                        fragmentCount,
                        Duration.ofSeconds(60));
        double shift = SimulatedStep.shiftAfter(newest.version().round(), stepsPerRound, n);
        Fragments fragments = Fragments.of(fragmentCount, initial.length, chunkSize);
        double worst = 0;
        for (int f = 0; f < fragmentCount; f++) {
            // the fragment's newest round: the largest r <= lastRound with r mod F = f
            long newestOfF = lastRound - Math.floorMod(lastRound - f, fragmentCount);
            double shiftOfF = SimulatedStep.shiftAfter(newestOfF, stepsPerRound, n);
            for (int i = fragments.firstValue(f, chunkSize);
                    i < fragments.endValue(f, chunkSize, initial.length);
                    i++) {
                worst = Math.max(worst, Math.abs(newest.parameters()[i] - (initial[i] + shiftOfF)));
            }
        }
        run.put("checked_round", newest.version().round());
        run.put("checked_shift", shift);
        run.put("checked_max_abs_error", worst);
        if (newest.version().round() != lastRound || worst > 1e-4 * Math.max(1, shift * 100)) {
            throw new IllegalStateException(
                    "the global model of round "
                            + newest.version().round()
                            + " (expected "
                            + lastRound
                            + ") is off the closed form by "
                            + worst);
        }
    }

    /** The replicas' counters at one moment. */
    private record Snapshot(
            long nanos,
            long rounds,
            double waitedMs,
            long steps,
            long bytesSent,
            long bytesReceived,
            long[] roundsPerReplica) {}

    /** The replicas finished their steps without adopting the rounds a measurement needs. */
    static final class RoundsStopped extends IllegalStateException {
        RoundsStopped(String message) {
            super(message);
        }
    }

    /**
     * Waits until every replica adopted {@code count} timed rounds, then reads its counters. Fails
     * with {@link RoundsStopped} when every replica has taken its last step and no round was
     * adopted for 20 s: a run that lost rounds on the way reports what it has instead of waiting
     * for the 10-minute limit.
     */
    private static Snapshot awaitRounds(
            Map<Integer, Map<String, Metric>> metrics, int n, long count, long maxSteps)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
        long adopted = -1;
        long lastChange = System.nanoTime();
        while (System.nanoTime() < deadline) {
            if (registered(metrics, n)
                    && metrics.values().stream()
                            .allMatch(
                                    m ->
                                            m.get("sync_latency_ms") instanceof Histogram h
                                                    && h.getCount() >= count)) {
                return read(metrics, n);
            }
            if (registered(metrics, n)) {
                Snapshot now = read(metrics, n);
                if (now.rounds != adopted) {
                    adopted = now.rounds;
                    lastChange = System.nanoTime();
                } else if (now.steps >= n * maxSteps
                        && System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(20)) {
                    throw new RoundsStopped(
                            "the replicas took their last step having adopted "
                                    + Arrays.toString(now.roundsPerReplica)
                                    + " timed rounds of the "
                                    + count
                                    + " needed: their rounds took longer than K steps and they"
                                    + " ran ahead");
                }
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException(
                "the replicas did not adopt " + count + " rounds in 10 minutes");
    }

    /** What {@link #read} reads, per replica. */
    private static final List<String> READ =
            List.of(
                    "sync_latency_ms",
                    "sync_wait_ms_total",
                    "steps",
                    "sync_bytes_sent",
                    "sync_bytes_received");

    /**
     * Whether every replica registered what {@link #read} reads: a replica's metrics arrive one by
     * one as its operator opens, so a replica being there is not enough.
     */
    private static boolean registered(Map<Integer, Map<String, Metric>> metrics, int n) {
        for (int r = 0; r < n; r++) {
            Map<String, Metric> m = metrics.get(r);
            if (m == null || !m.keySet().containsAll(READ)) {
                return false;
            }
        }
        return true;
    }

    private static Snapshot read(Map<Integer, Map<String, Metric>> metrics, int n) {
        long nanos = System.nanoTime();
        long rounds = 0;
        double waited = 0;
        long steps = 0;
        long sent = 0;
        long received = 0;
        long[] perReplica = new long[n];
        for (int r = 0; r < n; r++) {
            Map<String, Metric> m = metrics.get(r);
            perReplica[r] = ((Histogram) m.get("sync_latency_ms")).getCount();
            rounds += perReplica[r];
            waited += ((Number) ((Gauge<?>) m.get("sync_wait_ms_total")).getValue()).doubleValue();
            steps += ((Number) ((Gauge<?>) m.get("steps")).getValue()).longValue();
            sent += ((Counter) m.get("sync_bytes_sent")).getCount();
            received += ((Counter) m.get("sync_bytes_received")).getCount();
        }
        return new Snapshot(nanos, rounds, waited, steps, sent, received, perReplica);
    }

    /** The round latencies of every replica between two snapshots (the histogram keeps order). */
    private static double[] latencies(
            Map<Integer, Map<String, Metric>> metrics, int n, Snapshot from, Snapshot to) {
        List<Double> all = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            long[] values =
                    ((Histogram) metrics.get(r).get("sync_latency_ms")).getStatistics().getValues();
            // values in arrival order while the window is not full
            for (long i = from.roundsPerReplica[r];
                    i < to.roundsPerReplica[r] && i < values.length;
                    i++) {
                all.add((double) values[(int) i]);
            }
        }
        return all.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Nearest-rank percentile. */
    static double percentile(double[] values, double p) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double round4(double value) {
        return Math.round(value * 10_000) / 10_000.0;
    }

    /** The 1-minute load average (Linux), or NaN. */
    static double loadAverage() {
        try {
            return Double.parseDouble(
                    Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
        } catch (Exception e) {
            return Double.NaN;
        }
    }
}
