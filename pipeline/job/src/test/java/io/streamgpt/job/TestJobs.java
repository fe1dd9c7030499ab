package io.streamgpt.job;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.ModelChunkFormat;
import io.streamgpt.connectors.chunks.VectorAssembly;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.TextFeeder;
import io.streamgpt.connectors.kafka.TopicAdmin;
import io.streamgpt.connectors.kafka.TopicReader;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.FaultConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.model.ParameterLayout;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Starting the job on the test MiniCluster, feeding it and reading what it wrote, for the
 * end-to-end tests.
 */
public final class TestJobs {

    public static final int PARAMETERS = (int) ParameterLayout.of(TestConfigs.TINY_MODEL).size();

    private TestJobs() {}

    /** The tiny Shakespeare corpus of the checkout (surefire sets streamgpt.home to its root). */
    public static Path shakespeare() {
        return Path.of(System.getProperty("streamgpt.home", "../.."))
                .resolve("data")
                .resolve("tinyshakespeare.txt");
    }

    /** The first {@code characters} characters of {@link #shakespeare()}. */
    public static String shakespeare(int characters) throws java.io.IOException {
        return java.nio.file.Files.readString(shakespeare(), StandardCharsets.UTF_8)
                .substring(0, characters);
    }

    public static String prefix() {
        return "t" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Creates the job's topics and its one-partition text topic. */
    public static void createTopics(JobConfig config) {
        StreamingTrainerJob.createTopics(config);
        TopicAdmin.ensureTopics(
                config.kafka().clientSettings(),
                List.of(new TopicAdmin.TopicSpec(config.topics().text().get(0), 1, Map.of())));
    }

    /** Sends {@code text} to the text topic in records of about 2 KB. */
    public static void feed(JobConfig config, String text) throws Exception {
        try (TextFeeder feeder =
                new TextFeeder(
                        config.kafka().clientSettings(), config.topics().text().get(0), 2048)) {
            feeder.feed(
                    new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), sent -> {});
        }
    }

    /**
     * Starts the job with {@code parallelism} (the replicas') on the test MiniCluster, restored
     * from {@code restoreFrom} if not null; {@code watch} may attach test sinks to the streams of
     * the loop.
     */
    public static JobClient start(
            JobConfig config, String restoreFrom, Consumer<StreamingTrainerJob.Loop> watch)
            throws Exception {
        Configuration conf = StreamingTrainerJob.configuration(config);
        if (restoreFrom != null) {
            conf.set(StateRecoveryOptions.SAVEPOINT_PATH, restoreFrom);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(config.replicas().count());
        StreamingTrainerJob.enableCheckpointing(env, config);
        watch.accept(StreamingTrainerJob.wire(env, config));
        return env.executeAsync("streamgpt test");
    }

    /**
     * A fresh job ({@link #start}, nothing watched) once its topics are made ({@link
     * #createTopics}) and {@code text} is on its text topic ({@link #feed}).
     */
    public static JobClient startFed(JobConfig config, String text) throws Exception {
        createTopics(config);
        feed(config, text);
        return start(config, null, loop -> {});
    }

    public static List<Reports.LossRecord> readLosses(
            JobConfig config, Predicate<Reports.LossRecord> until) {
        return LossReader.readUntil(
                config.kafka().clientSettings(),
                config.topics().losses(),
                until,
                Duration.ofSeconds(120));
    }

    /**
     * The first record that carries a val loss. The evaluator may score the first model version
     * before any held-out window has reached it (the two inputs race), and then reports no val loss
     * rather than a made-up one.
     */
    public static Reports.LossRecord firstWithValLoss(List<Reports.LossRecord> losses) {
        return losses.stream()
                .filter(r -> r.valLoss() != null)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no loss record has a val loss: " + losses));
    }

    /**
     * Cancels {@code job} and waits until it has ended: the cancel's acknowledgement comes when the
     * cancellation starts, and tasks still running after it can write checkpoint files into a
     * test's temporary directory while JUnit deletes it.
     */
    public static void cancel(JobClient job) throws Exception {
        job.cancel().get(60, TimeUnit.SECONDS);
        try { // the result future outlives a per-job MiniCluster, which shuts down with its job
            job.getJobExecutionResult().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException cancelled) {
            // the result of a cancelled job is its cancellation: it has ended
        }
    }

    /** What a collect iterator delivered so far, and why it stopped if it failed. */
    public static final class Drained<T> {
        public final List<T> items = Collections.synchronizedList(new ArrayList<>());
        public volatile RuntimeException failure;
    }

    /**
     * Drains a collect iterator on a daemon thread; a failure is kept, and {@link #await} reports
     * it.
     */
    public static <T> Drained<T> drain(CloseableIterator<T> results) {
        Drained<T> drained = new Drained<>();
        Thread drainer =
                new Thread(
                        () -> {
                            try {
                                while (results.hasNext()) {
                                    drained.items.add(results.next());
                                }
                            } catch (RuntimeException e) {
                                drained.failure =
                                        e; // also how a cancelled job ends, after the test has what
                                // it waited for
                            }
                        },
                        "collect-drainer");
        drainer.setDaemon(true);
        drainer.start();
        return drained;
    }

    /**
     * Waits until {@code condition} holds on what was drained or two minutes pass; returns a copy
     * either way, unless collecting failed first: then that failure is the test's.
     */
    public static <T> List<T> await(Drained<T> drained, Predicate<List<T>> condition)
            throws InterruptedException {
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline) {
            synchronized (drained.items) {
                if (condition.test(drained.items)) {
                    return new ArrayList<>(drained.items);
                }
            }
            if (drained.failure != null) {
                throw new AssertionError(
                        "collecting the job's output failed after "
                                + drained.items.size()
                                + " items",
                        drained.failure);
            }
            Thread.sleep(100);
        }
        synchronized (drained.items) {
            return new ArrayList<>(drained.items);
        }
    }

    /**
     * Every complete global model on the model topic now, by generation and round:
     * "generation:round".
     */
    public static Map<String, float[]> globalModels(JobConfig config) {
        Map<String, VectorAssembly> assemblies = new HashMap<>();
        try (TopicReader reader = TopicReader.open(config.kafka().clientSettings())) {
            for (ConsumerRecord<byte[], byte[]> record :
                    reader.readAll(config.topics().model(), Duration.ofSeconds(60))) {
                if (ModelChunkFormat.deserialize(record.value()) instanceof GlobalChunk chunk) {
                    assemblies
                            .computeIfAbsent(
                                    chunk.version().toString(),
                                    k -> new VectorAssembly(PARAMETERS, config.sync().chunkSize()))
                            .add(chunk.slice());
                }
            }
        }
        Map<String, float[]> complete = new HashMap<>();
        assemblies.forEach(
                (key, assembly) -> {
                    if (assembly.complete()) {
                        complete.put(key, assembly.values());
                    }
                });
        return complete;
    }

    /**
     * Whether {@code c} is the first chunk of its round's fragment (chunk 0 without fragments): one
     * record per replica and round, for a test sink.
     */
    public static boolean headsItsRound(Contribution c, int fragments) {
        io.streamgpt.connectors.chunks.Fragments f =
                new io.streamgpt.connectors.chunks.Fragments(fragments, c.slice().count());
        return c.chunk() == f.firstChunk(f.ofRound(c.round()));
    }

    /**
     * The whole global model of {@code generation} as of {@code round} on the model topic: each
     * chunk from the newest round up to {@code round} that carried it (with streamed fragments a
     * round carries only some chunks), or null if some chunk never came.
     */
    public static float[] wholeModel(JobConfig config, int generation, long round) {
        int chunkSize = config.sync().chunkSize();
        Map<Integer, GlobalChunk> newest = new HashMap<>();
        try (TopicReader reader = TopicReader.open(config.kafka().clientSettings())) {
            for (ConsumerRecord<byte[], byte[]> record :
                    reader.readAll(config.topics().model(), Duration.ofSeconds(60))) {
                if (ModelChunkFormat.deserialize(record.value()) instanceof GlobalChunk chunk
                        && chunk.version().generation() == generation
                        && chunk.version().round() <= round) {
                    newest.merge(
                            chunk.chunk(),
                            chunk,
                            (a, b) -> a.version().round() >= b.version().round() ? a : b);
                }
            }
        }
        VectorAssembly whole = new VectorAssembly(PARAMETERS, chunkSize);
        newest.values().forEach(c -> whole.add(c.slice()));
        return whole.complete() ? whole.values() : null;
    }

    /** The global chunks of {@code round} on the model topic (redeliveries too). */
    public static int globalChunksOfRound(JobConfig config, long round) {
        int count = 0;
        try (TopicReader reader = TopicReader.open(config.kafka().clientSettings())) {
            for (ConsumerRecord<byte[], byte[]> record :
                    reader.readAll(config.topics().model(), Duration.ofSeconds(60))) {
                if (ModelChunkFormat.deserialize(record.value()) instanceof GlobalChunk chunk
                        && chunk.version().round() == round) {
                    count++;
                }
            }
        }
        return count;
    }

    /**
     * The first chunk of a contribution, as a test sink collects it.
     *
     * @param compressed whether it went out as a compressed delta
     */
    public record Sent(
            int generation,
            long round,
            int replica,
            long step,
            long tokens,
            long baseChecksum,
            boolean compressed) {
        public static Sent of(Contribution c) {
            return new Sent(
                    c.generation(),
                    c.round(),
                    c.replica(),
                    c.progress().step(),
                    c.progress().tokens(),
                    c.baseChecksum(),
                    c.delta() != null);
        }
    }

    /** A copy of {@code c} with other evaluation settings, step limit and fault hook. */
    public static JobConfig with(
            JobConfig c, int evalInterval, int evalIters, long maxSteps, long failAtStep) {
        return c.withEvaluation(
                        e ->
                                e.with(EvaluationConfig.INTERVAL, evalInterval)
                                        .with(EvaluationConfig.ITERS, evalIters))
                .withReplicas(r -> r.with(ReplicaConfig.MAX_STEPS, maxSteps))
                .withFaults(f -> new FaultConfig(failAtStep));
    }
}
