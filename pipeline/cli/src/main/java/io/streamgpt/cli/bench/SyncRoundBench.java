package io.streamgpt.cli.bench;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.connectors.kafka.KafkaStreams;
import io.streamgpt.job.StreamingTrainerJob;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.sync.GlobalRounds;
import io.streamgpt.job.sync.ParameterAverager;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.RichFlatMapFunction;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Times the synchronisation path alone, with the job's own operators and topics: N replicas'
 * parameter chunks -> keyBy(chunk) -> {@link ParameterAverager} -> model topic -> a reader that
 * assembles the global round. A round is sent only when the previous one has arrived, so each
 * measurement is one round end to end. Runs on a MiniCluster in this JVM (the sender and the reader
 * share a clock).
 */
public final class SyncRoundBench {

    private static final Map<String, BlockingQueue<Long>> ARRIVED = new ConcurrentHashMap<>();
    private static final Map<String, Map<Long, Long>> SENT = new ConcurrentHashMap<>();

    private SyncRoundBench() {}

    /**
     * Milliseconds of each round, in order. {@code config} gives N, the chunk size, the topics and
     * Kafka.
     */
    public static double[] run(JobConfig config, int parameters, int rounds) throws Exception {
        String id = UUID.randomUUID().toString();
        ARRIVED.put(id, new LinkedBlockingQueue<>());
        SENT.put(id, new ConcurrentHashMap<>());
        StreamingTrainerJob.createTopics(config);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        env.setBufferTimeout(StreamingTrainerJob.LOOP_BUFFER_TIMEOUT_MS); // every edge is the loop
        env.fromSequence(1, rounds)
                .flatMap(
                        new Replicas(
                                id,
                                config.replicas().count(),
                                parameters,
                                config.sync().chunkSize()))
                .keyBy(Contribution::chunk)
                .process(new ParameterAverager(config.sync(), config.replicas().count()))
                .setParallelism(config.sync().averagerParallelism())
                .sinkTo(
                        KafkaStreams.modelSink(
                                config.kafka().clientSettings(),
                                config.topics().model(),
                                config.topics().modelSecret()));
        env.fromSource(
                        KafkaStreams.modelSource(
                                config.kafka().clientSettings(),
                                config.topics().model(),
                                config.topics().modelSecret(),
                                "bench-" + id,
                                OffsetsInitializer.earliest()),
                        WatermarkStrategy.noWatermarks(),
                        "model topic")
                .process(new Reader(id, parameters, config.sync().chunkSize()))
                .sinkTo(new DiscardingSink<>());
        JobClient job = env.executeAsync("sync round bench");
        try {
            double[] ms = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                Long nanos = ARRIVED.get(id).poll(120, TimeUnit.SECONDS);
                if (nanos == null) {
                    throw new IllegalStateException(
                            "round " + (r + 1) + " did not arrive within 120 s");
                }
                ms[r] = nanos / 1e6;
            }
            return ms;
        } finally {
            job.cancel().get(60, TimeUnit.SECONDS);
            ARRIVED.remove(id);
            SENT.remove(id);
        }
    }

    /** Sends every replica's chunks for a round once the previous round arrived. */
    static final class Replicas extends RichFlatMapFunction<Long, Contribution> {
        private final String id;
        private final int replicas;
        private final int parameters;
        private final int chunkSize;

        Replicas(String id, int replicas, int parameters, int chunkSize) {
            this.id = id;
            this.replicas = replicas;
            this.parameters = parameters;
            this.chunkSize = chunkSize;
        }

        @Override
        public void flatMap(Long round, Collector<Contribution> out) throws InterruptedException {
            Map<Long, Long> sent = SENT.get(id);
            while (round > 1
                    && !sent.containsKey(-(round - 1))) { // the previous round has not arrived yet
                Thread.sleep(1);
            }
            sent.put(round, System.nanoTime());
            int chunks = Slice.count(parameters, chunkSize);
            for (int replica = 0; replica < replicas; replica++) {
                for (int c = 0; c < chunks; c++) {
                    // each slice filled where it is made: no whole vector to fill and cut per round
                    float[] values = new float[Math.min(chunkSize, parameters - c * chunkSize)];
                    Arrays.fill(values, replica + round * 0.001f);
                    out.collect(
                            new Contribution(
                                    new RoundId(0, round),
                                    replica,
                                    new Progress(round, 0, 1f),
                                    0L,
                                    new Slice(c, chunks, values)));
                }
            }
        }
    }

    /** Assembles global rounds from the model topic and reports when each is complete. */
    static final class Reader extends ProcessFunction<GlobalChunk, Void> {
        private final String id;
        private final int parameters;
        private final int chunkSize;
        private transient GlobalRounds rounds;

        Reader(String id, int parameters, int chunkSize) {
            this.id = id;
            this.parameters = parameters;
            this.chunkSize = chunkSize;
        }

        @Override
        public void processElement(GlobalChunk chunk, Context ctx, Collector<Void> out) {
            if (rounds == null) {
                rounds = new GlobalRounds(parameters, chunkSize, 0, 0, false);
            }
            GlobalRounds.Round complete = rounds.offer(chunk);
            if (complete != null) {
                long now = System.nanoTime();
                Map<Long, Long> sent = SENT.get(id);
                ARRIVED.get(id).add(now - sent.get(complete.round()));
                sent.put(-complete.round(), now);
            }
        }
    }
}
