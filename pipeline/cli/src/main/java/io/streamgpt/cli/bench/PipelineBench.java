package io.streamgpt.cli.bench;

import io.streamgpt.cli.Paths;
import io.streamgpt.cli.stream.LocalStack;
import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.job.sync.OuterOptimizer;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelPreset;
import io.streamgpt.model.ParameterLayout;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.Trainer;
import io.streamgpt.model.TrainingConfig;
import io.streamgpt.model.Vocabulary;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.HistogramStatistics;
import org.apache.flink.metrics.Metric;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

/**
 * The streaming job's speed and quality targets, measured on an in-process Kafka broker and Flink
 * MiniCluster, printed as one JSON object.
 */
@Command(
        name = "pipeline",
        mixinStandardHelpOptions = true,
        description =
                "Flink overhead of a replica, sync round latency (reference preset), 2 replicas vs"
                        + " 1 at equal tokens.")
public final class PipelineBench implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
            names = "--threads",
            defaultValue = "1",
            description =
                    "libtorch threads per replica (and of the bare loop). Default:"
                            + " ${DEFAULT-VALUE}.")
    int threads;

    @Option(
            names = "--steps",
            defaultValue = "300",
            description = "Measured steps of the one-replica job. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(
            names = "--sync-rounds",
            defaultValue = "6",
            description =
                    "Sync rounds of the reference preset timed (the first is a warm-up). Default:"
                            + " ${DEFAULT-VALUE}.")
    int syncRounds;

    @Option(
            names = "--compare-steps",
            defaultValue = "2000",
            description =
                    "Steps of the one-replica run in the convergence comparison; 2 replicas run"
                            + " half each; 0 skips it. Default: ${DEFAULT-VALUE}.")
    int compareSteps;

    @Option(
            names = "--sync-every",
            defaultValue = "10",
            description = "K of the convergence comparison. Default: ${DEFAULT-VALUE}.")
    int syncEvery;

    @Option(
            names = "--outer-optimizer",
            defaultValue = "AVERAGE",
            description =
                    "Outer optimizer of the convergence comparison: AVERAGE or NESTEROV (DiLoCo, lr"
                            + " 0.7, momentum 0.9). Default: ${DEFAULT-VALUE}.")
    OuterOptimizer outerOptimizer;

    @Option(names = "--compare-only", description = "Run only the convergence comparison.")
    boolean compareOnly;

    @Option(
            names = "--tls",
            description =
                    "Run only the TLS comparison: one replica's tokens/s (cpu preset) and the"
                            + " reference preset's sync round on a plaintext broker and on a"
                            + " SASL_SSL one (SCRAM-SHA-512, ACLs), side by side.")
    boolean tls;

    @Option(
            names = "--prequential-every",
            defaultValue = "0",
            description =
                    "Run only the prequential cost: the one-replica job without and with"
                            + " test-then-train scoring of one window in this many, alternately"
                            + " (off, on, off, on). Default: ${DEFAULT-VALUE} (not run).")
    int prequentialEvery;

    @Option(
            names = "--compare-encodings",
            split = ",",
            description =
                    "Also run the 2-replica job of the convergence comparison with each of these"
                            + " --sync-encoding values (FP32, BF16, INT8), one after another in"
                            + " this run, and report each one's validation loss.")
    List<PayloadEncoding> compareEncodings = List.of();

    @Option(
            names = "--compare-fragments",
            split = ",",
            description =
                    "Also run the 2-replica job of the convergence comparison with each of these"
                            + " --sync-fragments values (streamed fragments; each must divide"
                            + " --sync-every), one after another in this run, and report each"
                            + " one's validation loss.")
    List<Integer> compareFragments = List.of();

    @Option(
            names = "--compare-learning-rates",
            split = ",",
            description =
                    "Also run the 2-replica job of the convergence comparison with each of these"
                            + " per-replica learning rates (--learning-rate with"
                            + " --learning-rate-scaling NONE; the preset's is 1e-3, which the"
                            + " default SQRT scaling makes 1.414e-3 for 2 replicas), one after"
                            + " another in this run, and report each one's validation loss.")
    List<Double> compareLearningRates = List.of();

    @Option(
            names = "--fragments-encoding",
            defaultValue = "FP32",
            description =
                    "The --sync-encoding of the --compare-fragments jobs: compressed deltas with"
                            + " streamed fragments when not FP32. Default: ${DEFAULT-VALUE}.")
    PayloadEncoding fragmentsEncoding;

    /** The settings of the convergence run being made: a variant's, else none. */
    private UnaryOperator<JobConfig> variant = UnaryOperator.identity();

    @Override
    public Integer call() throws Exception {
        if (steps < 100 || syncRounds < 2 || compareSteps < 0) {
            throw new IllegalArgumentException(
                    "--steps must be >= 100, --sync-rounds >= 2, --compare-steps >= 0");
        }
        for (int f : compareFragments) {
            if (f < 1 || syncEvery % f != 0) {
                throw new IllegalArgumentException(
                        "--compare-fragments must divide --sync-every ("
                                + syncEvery
                                + "), got "
                                + f);
            }
        }
        TorchRuntime.configure(threads);
        Path corpusFile = Paths.shakespeare();
        Vocabulary vocabulary = Vocabulary.named("shakespeare");
        GptConfig cpu = GptConfig.preset("cpu", vocabulary.size());
        ObjectMapper json = new ObjectMapper();
        ObjectNode result = json.createObjectNode();
        result.put("threads_per_replica", threads);
        PrintWriter log = spec.commandLine().getErr();

        if (tls) {
            try (EmbeddedKafka plain = EmbeddedKafka.start(0, null);
                    EmbeddedKafka secure = EmbeddedKafka.startSecure(0, null, null)) {
                for (int round = 0; round < 2; round++) { // interleaved: load drifts alike
                    for (EmbeddedKafka kafka : List.of(plain, secure)) {
                        String name = kafka.security() == null ? "plaintext" : "sasl_ssl";
                        log.println(name + " broker, pass " + (round + 1) + " ...");
                        double tokens =
                                oneReplicaTokensPerSecond(
                                        kafka,
                                        vocabulary,
                                        cpu,
                                        corpusFile,
                                        SyncConfig.Mode.SYNC,
                                        0);
                        result.withArray(name + "_job_one_replica_tokens_per_s")
                                .add(BenchCommand.ModelBench.round(tokens));
                        GptConfig reference = GptConfig.preset("reference", vocabulary.size());
                        double[] ms =
                                SyncRoundBench.run(
                                        config(kafka, "reference", 2, 0, SyncConfig.Mode.SYNC)
                                                .withSync(se -> se.with(SyncConfig.EVERY, 1)),
                                        (int) ParameterLayout.of(reference).size(),
                                        syncRounds);
                        result.withArray(name + "_sync_round_ms_median")
                                .add(
                                        BenchCommand.ModelBench.round(
                                                BenchCommand.ModelBench.median(
                                                        Arrays.copyOfRange(ms, 1, ms.length))));
                    }
                }
            }
            spec.commandLine().getOut().println(json.writeValueAsString(result));
            return 0;
        }
        String text = Files.readString(corpusFile, StandardCharsets.UTF_8);
        TokenCorpus corpus = TokenCorpus.of(vocabulary.encode(text));
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            if (prequentialEvery > 0) {
                measurePrequentialCost(kafka, vocabulary, cpu, corpusFile, result, log);
                spec.commandLine().getOut().println(json.writeValueAsString(result));
                return 0;
            }
            if (!compareOnly) {
                measureSpeed(kafka, vocabulary, cpu, corpus, corpusFile, result, log);
            }

            if (compareSteps > 0) {
                int every = Math.max(syncEvery, compareSteps / 10 / syncEvery * syncEvery);
                log.println("bounded trainer (streamgpt train): " + compareSteps + " steps ...");
                double[] bounded = boundedTrainCurve(cpu, corpus, compareSteps, every);
                log.println(
                        "convergence: 1 replica x "
                                + compareSteps
                                + " steps vs 2 replicas x "
                                + compareSteps / 2
                                + " ...");
                List<Reports.LossRecord> one =
                        lossCurve(kafka, vocabulary, cpu, corpusFile, 1, compareSteps, every);
                List<Reports.LossRecord> two =
                        lossCurve(
                                kafka, vocabulary, cpu, corpusFile, 2, compareSteps / 2, every / 2);
                var steps = result.putArray("train_curve_steps");
                var boundedCurve = result.putArray("train_command_train_loss");
                var jobCurve = result.putArray("job_one_replica_train_loss");
                double diff = 0;
                int points = 0;
                for (int i = 0; i < bounded.length; i++) {
                    long step = (long) (i + 1) * every;
                    var record = one.stream().filter(r -> r.step() == step).findFirst();
                    if (record.isPresent() && record.get().trainLoss() != null) {
                        steps.add(step);
                        boundedCurve.add(thousandths(bounded[i]));
                        jobCurve.add(thousandths(record.get().trainLoss()));
                        diff += Math.abs(bounded[i] - record.get().trainLoss());
                        points++;
                    }
                }
                result.put("train_curves_mean_abs_diff", thousandths(diff / Math.max(1, points)));
                Reports.LossRecord lastOne = one.get(one.size() - 1);
                Reports.LossRecord lastTwo = two.get(two.size() - 1);
                result.put("compare_tokens", lastOne.tokens());
                result.put("one_replica_val_loss", lastOne.valLoss());
                result.put("two_replicas_tokens", lastTwo.tokens());
                result.put("two_replicas_val_loss", lastTwo.valLoss());
                result.put(
                        "two_minus_one_val_loss",
                        thousandths(lastTwo.valLoss() - lastOne.valLoss()));
                result.put("sync_every", syncEvery);
                result.put("outer_optimizer", outerOptimizer.name());
                Convergence run = new Convergence(kafka, vocabulary, cpu, corpusFile, every, log);
                var byEncoding = result.putObject("two_replicas_val_loss_by_encoding");
                for (PayloadEncoding e : compareEncodings) {
                    putVariant(
                            byEncoding.putObject(e.name()),
                            "--sync-encoding " + e,
                            c -> c.withSync(sync -> sync.with(SyncConfig.ENCODING, e)),
                            "minus_fp32_job_above",
                            lastTwo,
                            run);
                }
                var byFragments = result.putObject("two_replicas_val_loss_by_fragments");
                for (int f : compareFragments) {
                    boolean fp32 = fragmentsEncoding == PayloadEncoding.FP32;
                    putVariant(
                            byFragments.putObject(
                                    fp32 ? String.valueOf(f) : f + " " + fragmentsEncoding),
                            "--sync-fragments "
                                    + f
                                    + (fp32 ? "" : " --sync-encoding " + fragmentsEncoding),
                            c ->
                                    c.withSync(
                                            sync ->
                                                    sync.with(SyncConfig.FRAGMENTS, f)
                                                            .with(
                                                                    SyncConfig.ENCODING,
                                                                    fragmentsEncoding)),
                            "minus_one_fragment_job_above",
                            lastTwo,
                            run);
                }
                var byRate = result.putObject("two_replicas_val_loss_by_learning_rate");
                for (double rate : compareLearningRates) {
                    putVariant(
                            byRate.putObject(String.valueOf(rate)),
                            "--learning-rate " + rate,
                            c ->
                                    c.withTraining(t -> t.with(TrainingConfig.LEARNING_RATE, rate))
                                            .withReplicas(
                                                    r ->
                                                            r.with(
                                                                    ReplicaConfig
                                                                            .LEARNING_RATE_SCALING,
                                                                    ReplicaConfig
                                                                            .LearningRateScaling
                                                                            .NONE)),
                            "minus_one_replica_job_above",
                            lastOne,
                            run);
                }
            }
        }
        spec.commandLine().getOut().println(json.writeValueAsString(result));
        return 0;
    }

    /**
     * The one-replica job's tokens/s without and with prequential scoring, twice each, alternating
     * so that a change of machine load hits both alike; the cost is 1 - on / off of the sums.
     */
    private void measurePrequentialCost(
            EmbeddedKafka kafka,
            Vocabulary vocabulary,
            GptConfig cpu,
            Path corpusFile,
            ObjectNode result,
            PrintWriter log)
            throws Exception {
        double off = 0;
        double on = 0;
        var offRuns = result.putArray("job_one_replica_tokens_per_s_off");
        var onRuns = result.putArray("job_one_replica_tokens_per_s_prequential");
        for (int i = 0; i < 2; i++) {
            log.println("one replica, prequential off ...");
            double a =
                    oneReplicaTokensPerSecond(
                            kafka, vocabulary, cpu, corpusFile, SyncConfig.Mode.SYNC, 0);
            log.println("one replica, prequential every " + prequentialEvery + " ...");
            double b =
                    oneReplicaTokensPerSecond(
                            kafka,
                            vocabulary,
                            cpu,
                            corpusFile,
                            SyncConfig.Mode.SYNC,
                            prequentialEvery);
            offRuns.add(BenchCommand.ModelBench.round(a));
            onRuns.add(BenchCommand.ModelBench.round(b));
            off += a;
            on += b;
        }
        result.put("prequential_every", prequentialEvery);
        result.put("prequential_cost_fraction", thousandths(1 - on / off));
    }

    /** Flink's overhead on one replica, and the sync round of the reference preset. */
    private void measureSpeed(
            EmbeddedKafka kafka,
            Vocabulary vocabulary,
            GptConfig cpu,
            TokenCorpus corpus,
            Path corpusFile,
            ObjectNode result,
            PrintWriter log)
            throws Exception {
        double[] bareSteps =
                BenchCommand.ModelBench.stepTimes(
                        cpu, TrainingConfig.preset("cpu"), corpus, 10, 200);
        // throughput is tokens over the whole time, as the job's figure is: the mean step, not
        // the median, which would leave out the slow steps a loop has too
        double bare = tokensPerSecond(cpu, Arrays.stream(bareSteps).average().orElseThrow());
        result.put("bare_loop_tokens_per_s", BenchCommand.ModelBench.round(bare));
        result.put(
                "bare_loop_median_step_tokens_per_s",
                BenchCommand.ModelBench.round(
                        tokensPerSecond(cpu, BenchCommand.ModelBench.median(bareSteps))));
        log.println("one replica in the job, sync and overlap mode ...");
        // prequential scoring off (0), as in the bare loop: --prequential-every measures its cost
        OneReplica inJob = oneReplica(kafka, vocabulary, cpu, corpusFile, SyncConfig.Mode.SYNC, 0);
        result.put(
                "job_one_replica_tokens_per_s",
                BenchCommand.ModelBench.round(inJob.tokensPerSecond()));
        result.put(
                "job_vs_bare_loop", BenchCommand.ModelBench.round(inJob.tokensPerSecond() / bare));
        // that run's freshness: a text record's Kafka timestamp to the first published version
        // that could train on it (the corpus is fed before the job starts, so it includes the
        // time a record waits in Kafka behind the ones before it)
        result.put("freshness_ms_p50", Math.round(inJob.freshness()[0])); // 0 without records
        result.put("freshness_ms_p99", Math.round(inJob.freshness()[1]));
        result.put("freshness_records", (long) inJob.freshness()[2]);
        result.put("job_one_replica_wait_fraction", thousandths(inJob.waitFraction()));
        result.put("job_one_replica_step_fraction", thousandths(inJob.stepFraction()));
        result.put(
                "job_one_replica_step_tokens_per_s",
                BenchCommand.ModelBench.round(inJob.stepTokensPerSecond()));
        OneReplica overlap =
                oneReplica(kafka, vocabulary, cpu, corpusFile, SyncConfig.Mode.OVERLAP, 0);
        result.put(
                "job_one_replica_overlap_tokens_per_s",
                BenchCommand.ModelBench.round(overlap.tokensPerSecond()));
        result.put(
                "job_overlap_vs_bare_loop",
                BenchCommand.ModelBench.round(overlap.tokensPerSecond() / bare));
        result.put(
                "job_one_replica_overlap_step_tokens_per_s",
                BenchCommand.ModelBench.round(overlap.stepTokensPerSecond()));
        result.put("job_one_replica_overlap_wait_fraction", thousandths(overlap.waitFraction()));
        result.put("job_one_replica_overlap_step_fraction", thousandths(overlap.stepFraction()));

        log.println("sync rounds of the reference preset ...");
        GptConfig reference = GptConfig.preset("reference", vocabulary.size());
        int parameters = (int) ParameterLayout.of(reference).size();
        JobConfig sync =
                config(kafka, "reference", 2, 0, SyncConfig.Mode.SYNC)
                        .withSync(s -> s.with(SyncConfig.EVERY, 1));
        double[] ms = SyncRoundBench.run(sync, parameters, syncRounds);
        double[] measured = Arrays.copyOfRange(ms, 1, ms.length);
        result.put("sync_round_parameters", parameters);
        result.put(
                "sync_round_megabytes_per_replica",
                BenchCommand.ModelBench.round(parameters * 4 / 1e6));
        result.put(
                "sync_round_ms_median",
                BenchCommand.ModelBench.round(BenchCommand.ModelBench.median(measured)));
        result.put(
                "sync_round_ms_max",
                BenchCommand.ModelBench.round(Arrays.stream(measured).max().orElseThrow()));
    }

    private static double thousandths(double value) {
        return Math.round(value * 1000) / 1000.0;
    }

    /** Tokens per second of the cpu preset at {@code msPerStep}. */
    private static double tokensPerSecond(GptConfig config, double msPerStep) {
        return TrainingConfig.preset("cpu").batchSize() * config.blockSize() / (msPerStep / 1000);
    }

    /**
     * A one-replica job in its steady state: training tokens per second from its loss records, and
     * where the rest of the time goes, from the replica's own metrics over the same steps: the
     * shares of the wall time spent waiting for rounds and in {@code model.step}, and the rate
     * while stepping ({@code step_ms_total}, {@code tokens_consumed}); what is left is between
     * steps (batches, timers, the round's copies and chunks); its freshness_ms p50, p99 and count
     * ({@link #freshness}).
     */
    record OneReplica(
            double tokensPerSecond,
            double stepTokensPerSecond,
            double waitFraction,
            double stepFraction,
            double[] freshness) {}

    /** What every run of the convergence comparison shares: broker, shape, corpus, cadence, log. */
    private record Convergence(
            EmbeddedKafka kafka,
            Vocabulary vocabulary,
            GptConfig cpu,
            Path corpusFile,
            int every,
            PrintWriter log) {}

    /**
     * The 2-replica convergence job again with one setting changed ({@code --compare-encodings},
     * {@code --compare-fragments}, {@code --compare-learning-rates}): its last val loss and tokens
     * into {@code entry}, and how far above {@code baseline} (the plain 2-replica job, or for
     * learning rates the 1-replica job) it ended.
     */
    private void putVariant(
            ObjectNode entry,
            String what,
            UnaryOperator<JobConfig> setting,
            String minusKey,
            Reports.LossRecord baseline,
            Convergence run)
            throws Exception {
        run.log().println("convergence: 2 replicas, " + what + " ...");
        variant = setting;
        List<Reports.LossRecord> curve;
        try {
            curve =
                    lossCurve(
                            run.kafka(),
                            run.vocabulary(),
                            run.cpu(),
                            run.corpusFile(),
                            2,
                            compareSteps / 2,
                            run.every() / 2);
        } finally {
            variant = UnaryOperator.identity();
        }
        Reports.LossRecord last = curve.get(curve.size() - 1);
        entry.put("val_loss", last.valLoss());
        entry.put("tokens", last.tokens());
        entry.put(minusKey, thousandths(last.valLoss() - baseline.valLoss()));
        entry.put("load_1m", SyncBench.loadAverage());
    }

    /** Steady-state training tokens per second of a one-replica job, from its loss records. */
    private double oneReplicaTokensPerSecond(
            EmbeddedKafka kafka,
            Vocabulary vocabulary,
            GptConfig cpu,
            Path corpus,
            SyncConfig.Mode mode,
            int prequential)
            throws Exception {
        return oneReplica(kafka, vocabulary, cpu, corpus, mode, prequential).tokensPerSecond();
    }

    private OneReplica oneReplica(
            EmbeddedKafka kafka,
            Vocabulary vocabulary,
            GptConfig cpu,
            Path corpus,
            SyncConfig.Mode mode,
            int prequential)
            throws Exception {
        int warmup = 100;
        JobConfig config =
                evaluatedEvery(config(kafka, "cpu", 1, warmup + steps, mode), 50, 1)
                        .withSync(s -> s.with(SyncConfig.EVERY, 10))
                        .withEvaluation(
                                e -> e.with(EvaluationConfig.PREQUENTIAL_EVERY, prequential));
        LocalStack.prepareTopics(config, corpus);
        String run = UUID.randomUUID().toString();
        Configuration reporter = new Configuration();
        reporter.setString(
                "metrics.reporter.pipelinebench.factory.class",
                ReplicaMetricsReporter.Factory.class.getName());
        reporter.setString("metrics.reporter.pipelinebench.run", run);
        JobClient job = LocalStack.startJob(config, null, 0, reporter);
        ReplicaWatch watch =
                new ReplicaWatch(ReplicaMetricsReporter.of(run), warmup, warmup + steps);
        Thread watcher = new Thread(watch, "pipeline-bench-replica-metrics");
        watcher.setDaemon(true);
        watcher.start();
        try {
            List<Reports.LossRecord> losses =
                    LossReader.readUntil(
                            config.kafka().clientSettings(),
                            config.topics().losses(),
                            r -> r.step() >= warmup + steps,
                            Duration.ofMinutes(10));
            double[] freshness = freshness(ReplicaMetricsReporter.of(run).get(0));
            Reports.LossRecord from =
                    losses.stream().filter(r -> r.step() >= warmup).findFirst().orElseThrow();
            Reports.LossRecord to = losses.get(losses.size() - 1);
            if (prequential > 0) { // were windows scored while the measured steps ran?
                long scored =
                        LossReader.readAll(
                                        config.kafka().clientSettings(),
                                        config.topics().losses(),
                                        EvalRecords.PREQUENTIAL,
                                        Duration.ofSeconds(30))
                                .stream()
                                .filter(r -> r.step() >= from.step() && r.step() < to.step())
                                .mapToLong(EvalRecords.ModelLoss::windows)
                                .sum();
                spec.commandLine()
                        .getErr()
                        .printf(
                                "prequential windows scored by versions of steps %d..%d: %d%n",
                                from.step(), to.step(), scored);
            }
            watcher.join(TimeUnit.SECONDS.toMillis(30));
            return new OneReplica(
                    (to.tokens() - from.tokens()) * 1000.0 / (to.timeMs() - from.timeMs()),
                    watch.stepTokensPerSecond,
                    watch.waitFraction,
                    watch.stepFraction,
                    freshness);
        } finally {
            watcher.interrupt();
            job.cancel().get(60, TimeUnit.SECONDS);
            ReplicaMetricsReporter.forget(run);
        }
    }

    /**
     * Polls replica 0's metrics between the steps {@code from} and {@code to}: its wait for rounds
     * and its time in {@code model.step} over the wall time between them, and its step-only rate
     * (the tokens of those steps over their time in {@code model.step}).
     */
    private static final class ReplicaWatch implements Runnable {
        private final Map<Integer, Map<String, Metric>> metrics;
        private final long from;
        private final long to;
        volatile double waitFraction = Double.NaN;
        volatile double stepFraction = Double.NaN;
        volatile double stepTokensPerSecond = Double.NaN;

        ReplicaWatch(Map<Integer, Map<String, Metric>> metrics, long from, long to) {
            this.metrics = metrics;
            this.from = from;
            this.to = to;
        }

        @Override
        public void run() {
            try {
                long startNanos = 0;
                double startWaited = 0;
                double startStepMs = 0;
                long startTokens = 0;
                while (true) {
                    Map<String, Metric> m = metrics.get(0);
                    if (m != null
                            && m.get("steps") instanceof Gauge<?> steps
                            && m.get("sync_wait_ms_total") instanceof Gauge<?> waited
                            && m.get("step_ms_total") instanceof Gauge<?> stepped
                            && m.get("tokens_consumed") instanceof Gauge<?> consumed) {
                        long step = ((Number) steps.getValue()).longValue();
                        double waitedMs = ((Number) waited.getValue()).doubleValue();
                        double stepMs = ((Number) stepped.getValue()).doubleValue();
                        long tokens = ((Number) consumed.getValue()).longValue();
                        if (startNanos == 0 && step >= from) {
                            startNanos = System.nanoTime();
                            startWaited = waitedMs;
                            startStepMs = stepMs;
                            startTokens = tokens;
                        } else if (startNanos != 0 && step >= to) {
                            double wallMs = (System.nanoTime() - startNanos) / 1e6;
                            waitFraction = (waitedMs - startWaited) / wallMs;
                            stepFraction = (stepMs - startStepMs) / wallMs;
                            stepTokensPerSecond =
                                    (tokens - startTokens) * 1000.0 / (stepMs - startStepMs);
                            return;
                        }
                    }
                    Thread.sleep(5);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * p50, p99 and count of a replica's freshness_ms histogram (its newest 4,096 records); NaN
     * without one.
     */
    private static double[] freshness(Map<String, Metric> replica) {
        if (replica == null || !(replica.get("freshness_ms") instanceof Histogram h)) {
            return new double[] {Double.NaN, Double.NaN, 0};
        }
        HistogramStatistics stats = h.getStatistics();
        return new double[] {stats.getQuantile(0.50), stats.getQuantile(0.99), h.getCount()};
    }

    /**
     * The loss records of a job whose {@code replicas} replicas each train {@code replicaSteps}
     * steps, one every {@code every} steps, each with a 200-batch validation loss.
     */
    private List<Reports.LossRecord> lossCurve(
            EmbeddedKafka kafka,
            Vocabulary vocabulary,
            GptConfig cpu,
            Path corpus,
            int replicas,
            int replicaSteps,
            int every)
            throws Exception {
        JobConfig config =
                evaluatedEvery(
                        config(kafka, "cpu", replicas, replicaSteps, SyncConfig.Mode.SYNC),
                        every,
                        200);
        LocalStack.prepareTopics(config, corpus);
        JobClient job = LocalStack.startJob(config, null);
        try {
            return LossReader.readUntil(
                    config.kafka().clientSettings(),
                    config.topics().losses(),
                    r -> r.step() >= replicaSteps,
                    Duration.ofMinutes(30));
        } finally {
            job.cancel().get(60, TimeUnit.SECONDS);
        }
    }

    /**
     * The bounded trainer's curve (what {@code streamgpt train} runs): at every {@code every}-th
     * step, the mean training loss of the last sync_every steps, as a job's round reports it.
     */
    private double[] boundedTrainCurve(GptConfig config, TokenCorpus corpus, int steps, int every) {
        TrainingConfig training = TrainingConfig.preset("cpu");
        try (Gpt model = Gpt.create(config, training.seed(), Device.cpu());
                Trainer trainer = new Trainer(model, training)) {
            Random random = new Random(training.seed());
            double[] curve = new double[steps / every];
            double sum = 0;
            for (int step = 1; step <= steps; step++) {
                float loss =
                        trainer.step(
                                corpus.sample(
                                        TokenCorpus.Split.TRAIN,
                                        random,
                                        training.batchSize(),
                                        config.blockSize()));
                if (step % every > every - syncEvery || step % every == 0) {
                    sum += loss;
                }
                if (step % every == 0) {
                    curve[step / every - 1] = sum / syncEvery;
                    sum = 0;
                }
            }
            return curve;
        }
    }

    /**
     * A job of {@code replicas} replicas of the preset, each training {@code maxSteps} steps with
     * this bench's K and outer optimizer, on its own topics of {@code kafka}; no samples, no
     * checkpoints, one loss record every {@code evalInterval} steps from {@code evalIters} batches.
     */
    private JobConfig config(
            EmbeddedKafka kafka, String preset, int replicas, long maxSteps, SyncConfig.Mode mode) {
        String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8);
        JobConfig config =
                JobConfig.parse(Map.of(ModelPreset.PARAM.name(), preset))
                        .withKafka(k -> KafkaConfig.of(kafka.clientSettings()))
                        .withTopics(t -> TopicsConfig.prefixed(prefix))
                        .withReplicas(
                                r ->
                                        r.with(ReplicaConfig.COUNT, replicas)
                                                .with(ReplicaConfig.MAX_STEPS, maxSteps)
                                                .with(ReplicaConfig.THREADS, threads))
                        .withSync(
                                s ->
                                        s.with(SyncConfig.EVERY, syncEvery)
                                                .with(SyncConfig.MODE, mode)
                                                .with(SyncConfig.OUTER_OPTIMIZER, outerOptimizer)
                                                .with(SyncConfig.TIMEOUT_MS, 60_000L))
                        .withEvaluation(
                                e ->
                                        e.with(EvaluationConfig.SAMPLE_INTERVAL, 1_000_000)
                                                .with(EvaluationConfig.SAMPLE_TOKENS, 0))
                        .withCheckpoints(c -> c.with(CheckpointConfig.INTERVAL_MS, 0L));
        return variant.apply(config);
    }

    private static JobConfig evaluatedEvery(JobConfig config, int interval, int iters) {
        return config.withEvaluation(
                e ->
                        e.with(EvaluationConfig.INTERVAL, Math.max(1, interval))
                                .with(EvaluationConfig.ITERS, Math.max(1, iters)));
    }
}
