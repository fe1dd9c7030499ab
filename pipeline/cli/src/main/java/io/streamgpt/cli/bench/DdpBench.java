package io.streamgpt.cli.bench;

import io.streamgpt.cli.Paths;
import io.streamgpt.cli.model.EvalCommand;
import io.streamgpt.cli.stream.LocalStack;
import io.streamgpt.connectors.chunks.ModelLoopAuthenticator;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.client.ModelTopicReader;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.job.config.CheckpointConfig;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.ModelPreset;
import io.streamgpt.model.ParameterLayout;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.core.execution.JobClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The streaming job next to the reference trainer under PyTorch DDP (gloo, CPU, one process per
 * rank), in one run on one machine, at the same tokens: R ranks x T threads against R replicas x T
 * threads, each at {@code --steps} steps of the cpu preset's 12 x 64 tokens. DDP trains on random
 * windows of the first 90% of tiny Shakespeare; the job is fed exactly that 90% through Kafka. Both
 * are scored on the last 10%: DDP by its own estimate_loss at its last step, the job's final global
 * model by {@code streamgpt eval} (read from the model topic), each over {@code --eval-iters}
 * batches. Tokens per second: DDP's own training-time figure (rank 0, evaluation excluded); the
 * job's from its loss records, between the first round's and the last (every replica's tokens, sync
 * waits included, start-up excluded).
 */
@Command(
        name = "ddp",
        mixinStandardHelpOptions = true,
        description =
                "The streaming job vs the reference under PyTorch DDP at equal tokens: tokens/s and"
                        + " val loss on the reference split (one JSON object).")
public final class DdpBench implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
            names = "--ddp-script",
            description =
                    "Path of gpt_reference_ddp.py (default: ../shared/reference/ beside the"
                            + " checkout).")
    Path ddpScript;

    @Option(
            names = "--python",
            defaultValue = "/usr/bin/python3",
            description = "Python with torch. Default: ${DEFAULT-VALUE}.")
    String python;

    @Option(
            names = "--replicas",
            defaultValue = "2",
            description = "DDP ranks and job replicas. Default: ${DEFAULT-VALUE}.")
    int replicas;

    @Option(
            names = "--threads",
            defaultValue = "1",
            description = "Threads per rank and per replica. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(
            names = "--steps",
            defaultValue = "1000",
            description = "Steps per rank and per replica. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(
            names = "--sync-every",
            defaultValue = "10",
            description = "K of the job. Default: ${DEFAULT-VALUE}.")
    int syncEvery;

    @Option(
            names = "--sync-mode",
            defaultValue = "SYNC",
            description = "The job's sync mode, SYNC or OVERLAP. Default: ${DEFAULT-VALUE}.")
    SyncConfig.Mode syncMode;

    @Option(
            names = "--eval-iters",
            defaultValue = "200",
            description = "Batches of each val loss. Default: ${DEFAULT-VALUE}.")
    int evalIters;

    @Option(names = "--skip-ddp", description = "Run only the job.")
    boolean skipDdp;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        if (replicas < 1 || threads < 1 || steps < 2 * syncEvery || evalIters < 1) {
            throw new IllegalArgumentException(
                    "--replicas, --threads, --eval-iters must be >= 1, --steps >= 2 x"
                            + " --sync-every");
        }
        PrintWriter log = spec.commandLine().getErr();
        Path corpus = Paths.shakespeare();
        String text = Files.readString(corpus, StandardCharsets.UTF_8);
        Path train = Files.createTempFile("streamgpt-ddp-train", ".txt");
        ObjectNode result = JSON.createObjectNode();
        try {
            // the reference's split: n = int(0.9 * len(data)), one token per character
            Files.writeString(train, text.substring(0, (int) (0.9 * text.length())));
            result.put("tokens_per_run", (long) steps * replicas * 12 * 64);
            result.put("replicas", replicas);
            result.put("threads", threads);
            result.put("load_before", loadAverage());
            if (!skipDdp) {
                log.println("PyTorch DDP: " + replicas + " ranks x " + steps + " steps ...");
                result.set("ddp", ddp(corpus, log));
            }
            log.println("streaming job: " + replicas + " replicas x " + steps + " steps ...");
            result.set("job", job(train, text));
            result.put("load_after", loadAverage());
            if (result.has("ddp")) {
                double ratio =
                        result.get("job").get("tokens_per_s").asDouble()
                                / result.get("ddp").get("tokens_per_s").asDouble();
                result.put("job_vs_ddp_tokens_per_s", Math.round(ratio * 1000) / 1000.0);
                result.put(
                        "job_minus_ddp_val_loss",
                        Math.round(
                                        (result.get("job").get("val_loss").asDouble()
                                                        - result.get("ddp")
                                                                .get("val_loss")
                                                                .asDouble())
                                                * 10000)
                                / 10000.0);
            }
        } finally {
            Files.deleteIfExists(train);
        }
        spec.commandLine().getOut().println(JSON.writeValueAsString(result));
        return 0;
    }

    private ObjectNode ddp(Path corpus, PrintWriter log) throws Exception {
        Path script =
                ddpScript != null
                        ? ddpScript
                        : Paths.home()
                                .resolve("..")
                                .resolve("shared")
                                .resolve("reference")
                                .resolve("gpt_reference_ddp.py")
                                .normalize();
        if (!Files.isRegularFile(script)) {
            throw new IllegalArgumentException("no DDP reference at " + script);
        }
        List<String> command =
                new ArrayList<>(List.of(python, script.toString(), corpus.toString()));
        command.addAll(PytorchReference.CPU_PRESET);
        command.addAll(
                List.of(
                        "max_iters=" + steps,
                        "eval_interval=" + steps, // losses at step 0 and at the last step only
                        "eval_iters=" + evalIters,
                        "threads=" + threads));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.put("WORLD", String.valueOf(replicas));
        env.put("DDP_PORT", String.valueOf(EmbeddedKafka.freePort()));
        env.put("OMP_NUM_THREADS", String.valueOf(threads));
        env.put("OPENBLAS_NUM_THREADS", String.valueOf(threads)); // see PytorchReference
        env.remove("GLIBC_TUNABLES");
        TorchBlas blas = TorchBlas.of(python);
        if (blas.reference()) {
            log.println(blas.warning());
        }
        long t0 = System.nanoTime();
        Process process = builder.start();
        JsonNode summary = null;
        StringBuilder output = new StringBuilder();
        try (BufferedReader in =
                new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                output.append(line).append('\n');
                if (line.startsWith("{") && line.contains("\"summary\"")) {
                    summary = JSON.readTree(line);
                }
            }
        }
        if (!process.waitFor(30, TimeUnit.MINUTES) || process.exitValue() != 0 || summary == null) {
            process.destroyForcibly();
            throw new IllegalStateException("DDP reference failed:\n" + output);
        }
        ObjectNode ddp = JSON.createObjectNode();
        ddp.put("tokens_per_s", summary.get("train_tokens_per_s_total").asDouble());
        ddp.put("val_loss", summary.get("final_val_loss").asDouble());
        ddp.put("ms_per_step", summary.get("ms_per_step").asDouble());
        ddp.put("wall_s", Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
        ddp.put("blas", blas.describe());
        ddp.put("reference_blas", blas.reference());
        return ddp;
    }

    private ObjectNode job(Path train, String fullText) throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start(0, null)) {
            String prefix = "ddp-" + UUID.randomUUID().toString().substring(0, 8);
            JobConfig config =
                    JobConfig.parse(Map.of(ModelPreset.PARAM.name(), "cpu"))
                            .withKafka(
                                    k ->
                                            k.with(
                                                    KafkaConfig.BOOTSTRAP_SERVERS,
                                                    kafka.bootstrapServers()))
                            .withTopics(t -> TopicsConfig.prefixed(prefix))
                            .withReplicas(
                                    r ->
                                            r.with(ReplicaConfig.COUNT, replicas)
                                                    .with(ReplicaConfig.MAX_STEPS, (long) steps)
                                                    .with(ReplicaConfig.THREADS, threads))
                            .withSync(
                                    s ->
                                            s.with(SyncConfig.EVERY, syncEvery)
                                                    .with(SyncConfig.MODE, syncMode)
                                                    .with(SyncConfig.TIMEOUT_MS, 60_000L))
                            .withEvaluation( // DDP only trains: one val loss at the end, no
                                    // samples, no prequential scoring (bench pipeline
                                    // --prequential-every measures its cost)
                                    e ->
                                            e.with(EvaluationConfig.INTERVAL, steps)
                                                    .with(EvaluationConfig.ITERS, 1)
                                                    .with(
                                                            EvaluationConfig.SAMPLE_INTERVAL,
                                                            1_000_000)
                                                    .with(EvaluationConfig.SAMPLE_TOKENS, 0)
                                                    .with(EvaluationConfig.PREQUENTIAL_EVERY, 0))
                            .withCheckpoints(c -> c.with(CheckpointConfig.INTERVAL_MS, 0L));
            LocalStack.prepareTopics(config, train);
            long t0 = System.nanoTime();
            JobClient job = LocalStack.startJob(config, null);
            List<Reports.LossRecord> losses;
            try {
                losses =
                        LossReader.readUntil(
                                config.kafka().clientSettings(),
                                config.topics().losses(),
                                r -> r.step() >= steps,
                                Duration.ofMinutes(30));
            } finally {
                job.cancel().get(60, TimeUnit.SECONDS);
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            Reports.LossRecord first = losses.get(0);
            Reports.LossRecord last = losses.get(losses.size() - 1);
            ModelTopicReader.Newest newest =
                    ModelTopicReader.newest(
                            config.kafka().clientSettings(),
                            config.topics().model(),
                            ModelLoopAuthenticator.fromSecret(config.topics().modelSecret()),
                            Math.toIntExact(ParameterLayout.of(config.model()).size()),
                            Duration.ofSeconds(60));
            EvalCommand.Result eval =
                    EvalCommand.evaluate(
                            new ModelFile.Contents(
                                    config.model(),
                                    config.vocabulary(),
                                    newest.parameters(),
                                    newest.step()),
                            fullText,
                            EvalCommand.SplitChoice.val,
                            evalIters,
                            12,
                            config.training().seed(),
                            ModelHost.local(Math.max(2, threads)),
                            "model topic " + newest.version(),
                            "tinyshakespeare.txt");
            ObjectNode node = JSON.createObjectNode();
            node.put(
                    "tokens_per_s",
                    Math.round(
                            (last.tokens() - first.tokens())
                                    * 1000.0
                                    / (last.timeMs() - first.timeMs())));
            node.put("tokens", last.tokens());
            node.put("step", last.step());
            node.put("model_version", newest.version().toString());
            node.put("val_loss", Math.round(eval.loss() * 10000) / 10000.0);
            node.put("sync_every", syncEvery);
            node.put("sync_mode", syncMode.name());
            node.put("wall_s", Math.round(wall * 100) / 100.0);
            return node;
        }
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }
}
