package io.streamgpt.job.eval;

import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.kafka.TopicReader;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.TestJobs;
import io.streamgpt.job.config.EvaluationConfig;
import io.streamgpt.job.config.FaultConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.Vocabulary;

import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The evaluation of a running job on a real broker and MiniCluster, with the tiny model: a replica
 * poisoned with NaN is kept out of the global model, and the fixed held-out set of {@code
 * --val-data} is scored on every evaluated version.
 */
class OnlineEvaluationJobTest {

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(4)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static EmbeddedKafka kafka;
    private static String text;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafka.start(0, null);
        text = TestJobs.shakespeare(60_000);
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    /** The job's evaluation records of {@code kind} on its losses topic now. */
    private static <T> List<T> records(JobConfig config, String kind, Class<T> type) {
        return LossReader.readAll(
                config.kafka().clientSettings(),
                config.topics().losses(),
                kind,
                type,
                Duration.ofSeconds(30));
    }

    /**
     * Replica 1's parameters turn NaN at step 12 (round 3 of K = 5 ends at step 15): its round-3
     * contribution is rejected, it re-adopts round 3's global model with fresh moments and trains
     * on; every published model is finite. Meanwhile each loss record (every round) is joined by a
     * val_data record scored on the last 6,000 characters of the corpus, which is exactly what
     * {@link HeldOutSet} gives for the newest model.
     */
    @Test
    void aNanReplicaIsLeftOutAndEveryVersionIsScoredOnTheFixedHeldOutSet(@TempDir Path dir)
            throws Exception {
        Path valData = Files.writeString(dir.resolve("val.txt"), text);
        JobConfig config =
                TestConfigs.synced(kafka.bootstrapServers(), TestJobs.prefix(), 2, 5)
                        .withReplicas(r -> r.with(ReplicaConfig.MAX_STEPS, 40L))
                        .withEvaluation(
                                e ->
                                        e.with(EvaluationConfig.INTERVAL, 5)
                                                .with(EvaluationConfig.SAMPLE_INTERVAL, 20)
                                                .with(EvaluationConfig.PREQUENTIAL_EVERY, 2)
                                                .with(EvaluationConfig.VAL_DATA, valData.toString())
                                                .with(
                                                        EvaluationConfig.VAL_DATA_SPLIT,
                                                        EvaluationConfig.HeldOutSplit.VAL))
                        .withFaults(
                                f ->
                                        f.with(FaultConfig.NAN_AT_STEP, 12L)
                                                .with(FaultConfig.NAN_REPLICA, 1));
        long fedFromMs = System.currentTimeMillis();
        JobClient job = TestJobs.startFed(config, text);
        try {
            List<Reports.LossRecord> losses = TestJobs.readLosses(config, r -> r.step() >= 40);
            Reports.LossRecord last = losses.get(losses.size() - 1);
            assertThat(last.step()).isEqualTo(40);
            assertThat(last.valLoss()).isNotNull().isLessThan((float) Math.log(65));
            // round 3 (step 15): replica 1's NaN contribution was rejected, replica 0's averaged
            Reports.LossRecord round3 =
                    losses.stream().filter(r -> r.round() == 3).findFirst().orElseThrow();
            assertThat(round3.replicaTrainLoss()[0]).isNotNull();
            assertThat(round3.replicaTrainLoss()[1]).isNull();
            // replica 1 trains again after its rejected round: its round-8 loss is finite
            assertThat(last.replicaTrainLoss()).hasSize(2).doesNotContainNull();

            Map<String, float[]> models = TestJobs.globalModels(config);
            assertThat(models).hasSize(8); // rounds 1..8 of generation 0
            models.forEach(
                    (version, values) -> {
                        for (float v : values) {
                            assertThat(Float.isFinite(v)).as("version %s", version).isTrue();
                        }
                    });

            List<EvalRecords.ModelLoss> valDataLosses =
                    records(config, EvalRecords.VAL_DATA, EvalRecords.ModelLoss.class);
            assertThat(valDataLosses)
                    .extracting(EvalRecords.ModelLoss::step)
                    .containsExactly(5L, 10L, 15L, 20L, 25L, 30L, 35L, 40L);
            EvalRecords.ModelLoss at40 = valDataLosses.get(7);
            assertThat(at40.round()).isEqualTo(8);
            assertThat(at40.windows()).isEqualTo(4 * 8); // eval-iters x batch size
            assertThat(at40.loss()).isLessThan(valDataLosses.get(0).loss());
            assertThat((double) at40.bitsPerChar())
                    .isCloseTo(at40.loss() / Math.log(2), within(1e-5));
            HeldOutSet set =
                    new HeldOutSet(
                            Vocabulary.named("shakespeare").encode(text),
                            EvaluationConfig.HeldOutSplit.VAL,
                            16,
                            4,
                            8,
                            7);

            // test-then-train: one window in 2 scored by the version its replica held; version 0
            // is the initial model, which predicts 65 characters about uniformly: ln 65. At most
            // half of the 60,000 / 16 windows (stride 16) are scored, one more per replica
            // (how many of them come before the first round depends on the machine's speed)
            List<EvalRecords.ModelLoss> prequential =
                    records(config, EvalRecords.PREQUENTIAL, EvalRecords.ModelLoss.class);
            assertThat(prequential).isNotEmpty();
            EvalRecords.ModelLoss version0 = prequential.get(0);
            assertThat(version0.round()).isZero();
            assertThat(version0.windows()).isPositive();
            assertThat(prequential.stream().mapToLong(EvalRecords.ModelLoss::windows).sum())
                    .isLessThanOrEqualTo(60_000 / 16 / 2 + 2);
            assertThat((double) version0.loss()).isCloseTo(Math.log(65), within(0.2));
            assertThat((double) version0.bitsPerChar())
                    .isCloseTo(version0.loss() / Math.log(2), within(1e-5));

            // lineage: one record per version, naming the text partition and how far into its
            // token stream the replicas had received (never past the 60,000 tokens fed), and
            // the tokens trained: round 8 = 2 replicas x 40 steps x 8 x 16 = the loss record's
            List<EvalRecords.Lineage> lineage =
                    records(config, EvalRecords.LINEAGE, EvalRecords.Lineage.class);
            assertThat(lineage)
                    .extracting(EvalRecords.Lineage::round)
                    .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
            EvalRecords.Lineage round8 = lineage.get(7);
            assertThat(round8.tokens()).isEqualTo(2L * 40 * 8 * 16).isEqualTo(last.tokens());
            assertThat(round8.offsets()).hasSize(1);
            assertThat(round8.format()).isEqualTo(EvalRecords.LINEAGE_FORMAT);
            // Kafka offsets: the 60,000 characters went out in records of about 2 KB, so the
            // newest record trained on is one of the topic's (next offset <= its end offset)
            long textRecords;
            try (TopicReader reader = TopicReader.open(config.kafka().clientSettings())) {
                textRecords = reader.readAll(config.topics().text().get(0), TIMEOUT).size();
            }
            assertThat(round8.inputOffsets()).containsOnlyKeys(round8.offsets().keySet());
            assertThat(round8.inputOffsets().values().iterator().next())
                    .isPositive()
                    .isLessThanOrEqualTo(textRecords);
            // freshness: each version that took in new records waited for them from their
            // timestamps (at the feed, before the job started) to its publication, within this
            // test's time
            long testMs = System.currentTimeMillis() - fedFromMs;
            List<EvalRecords.Lineage> fresh =
                    lineage.stream().filter(l -> l.freshnessMinMs() != null).toList();
            assertThat(fresh).isNotEmpty();
            for (EvalRecords.Lineage l : fresh) {
                assertThat(l.freshnessMinMs()).isPositive().isLessThanOrEqualTo(l.freshnessMaxMs());
                assertThat(l.freshnessMaxMs()).isLessThan(testMs);
            }
            long end = round8.offsets().values().iterator().next();
            assertThat(end).isPositive().isLessThanOrEqualTo(60_000);
            for (int i = 1; i < lineage.size(); i++) {
                assertThat(lineage.get(i).offsets().values().iterator().next())
                        .isGreaterThanOrEqualTo(
                                lineage.get(i - 1).offsets().values().iterator().next());
            }

            // samples name their version: every 20 steps, rounds 4 and 8 of generation 0
            List<Reports.SampleRecord> samples;
            try (TopicReader reader = TopicReader.open(config.kafka().clientSettings())) {
                samples =
                        reader.readAll(config.topics().samples(), TIMEOUT).stream()
                                .map(
                                        r ->
                                                Reports.fromJson(
                                                        TopicReader.text(r),
                                                        Reports.SampleRecord.class))
                                .toList();
            }
            assertThat(samples)
                    .extracting(
                            Reports.SampleRecord::generation,
                            Reports.SampleRecord::round,
                            Reports.SampleRecord::step)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple(0, 4L, 20L),
                            org.assertj.core.groups.Tuple.tuple(0, 8L, 40L));

            try (Gpt model = ModelHost.local(1).load(TestConfigs.TINY_MODEL, models.get("0:8"))) {
                assertThat(set.loss(model)).isCloseTo(at40.loss(), within(1e-4f));
            }
        } finally {
            TestJobs.cancel(job);
        }
    }
}
