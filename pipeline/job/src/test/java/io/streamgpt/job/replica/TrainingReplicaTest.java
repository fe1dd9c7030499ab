package io.streamgpt.job.replica;

import io.streamgpt.connectors.chunks.Contribution;
import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.job.input.TokenWindow;
import io.streamgpt.model.FloatArrays;
import io.streamgpt.model.ParameterLayout;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.co.CoBroadcastWithKeyedOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedBroadcastOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One training replica as Flink runs it (operator test harness, real libtorch), driven step by
 * step.
 */
class TrainingReplicaTest {

    private static final int PARAMETERS = (int) ParameterLayout.of(TestConfigs.TINY_MODEL).size();

    private static JobConfig config(
            SyncConfig.Mode mode, ReplicaConfig.Pacing pacing, int tokensPerStep) {
        JobConfig c =
                TestConfigs.tiny("127.0.0.1:1", "unit")
                        .withReplicas(
                                r ->
                                        r.with(ReplicaConfig.COUNT, 2)
                                                .with(ReplicaConfig.MAX_STEPS, 100L))
                        .withSync(
                                s ->
                                        s.with(SyncConfig.EVERY, 2)
                                                .with(SyncConfig.MODE, mode)
                                                .with(SyncConfig.TIMEOUT_MS, 1000L));
        return c.withReplicas(
                r ->
                        r.with(ReplicaConfig.PACING, pacing)
                                .with(ReplicaConfig.TOKENS_PER_STEP, tokensPerStep));
    }

    private static TrainingReplica replica(JobConfig config) {
        return new TrainingReplica(
                config.model(),
                config.training(),
                config.replicas(),
                config.sync(),
                config.faults(),
                config.stride());
    }

    private static KeyedBroadcastOperatorTestHarness<
                    Integer, TokenWindow, GlobalChunk, Contribution>
            harness(JobConfig config) throws Exception {
        return ProcessFunctionTestHarnesses.forKeyedBroadcastProcessFunction(
                replica(config), w -> 0, Types.INT, TrainingReplica.MODEL_TOPIC);
    }

    /** Consecutive windows of one partition: 16 + 1 tokens every 16. */
    private static void feed(
            KeyedBroadcastOperatorTestHarness<Integer, TokenWindow, GlobalChunk, Contribution> h,
            int windows)
            throws Exception {
        Random random = new Random(3);
        for (int w = 0; w < windows; w++) {
            h.processElement(
                    new TokenWindow("text-0", w * 16L, w, random.ints(17, 0, 65).toArray()), 0);
        }
    }

    private static List<Contribution> contributions(
            KeyedBroadcastOperatorTestHarness<Integer, TokenWindow, GlobalChunk, Contribution> h,
            long round) {
        return h.extractOutputValues().stream().filter(c -> c.round() == round).toList();
    }

    private static void sendGlobal(
            KeyedBroadcastOperatorTestHarness<Integer, TokenWindow, GlobalChunk, Contribution> h,
            int generation,
            long round,
            float[] parameters)
            throws Exception {
        for (int c = 0; c < Slice.count(parameters.length, 1000); c++) {
            h.processBroadcastElement(
                    new GlobalChunk(
                            new RoundId(generation, round),
                            2,
                            new Progress(round * 2, 0, 1f),
                            null,
                            Slice.of(parameters, c, 1000)),
                    0);
        }
    }

    private static float[] constant(float value) {
        float[] p = new float[PARAMETERS];
        java.util.Arrays.fill(p, value);
        return p;
    }

    @Test
    void syncReplicaSendsEveryKStepsWaitsForTheRoundAndAdoptsIt() throws Exception {
        try (var h = harness(config(SyncConfig.Mode.SYNC, ReplicaConfig.Pacing.CONTINUOUS, 1))) {
            feed(h, 20);
            h.setProcessingTime(1);
            List<Contribution> round1 = contributions(h, 1);
            assertThat(round1).hasSize(Slice.count(PARAMETERS, 1000));
            assertThat(round1).allMatch(c -> c.progress().step() == 2 && c.generation() == 0);
            h.setProcessingTime(50);
            assertThat(contributions(h, 2)).as("waits for round 1").isEmpty();

            sendGlobal(h, 1, 1, constant(0.5f)); // another generation: ignored
            h.setProcessingTime(100);
            assertThat(contributions(h, 2)).isEmpty();

            float[] global = constant(0.25f);
            sendGlobal(h, 0, 1, global);
            h.setProcessingTime(150);
            List<Contribution> round2 = contributions(h, 2);
            assertThat(round2).isNotEmpty();
            assertThat(round2.get(0).baseChecksum())
                    .as("round 2 trained from the adopted global model")
                    .isEqualTo(FloatArrays.crc32(global));
            assertThat(round2.get(0).progress().step()).isEqualTo(4);
        }
    }

    @Test
    void overlapReplicaTrainsOnWhileARoundIsOutAndHoldsTheNextUntilItIsBack() throws Exception {
        try (var h = harness(config(SyncConfig.Mode.OVERLAP, ReplicaConfig.Pacing.CONTINUOUS, 1))) {
            feed(h, 20);
            h.setProcessingTime(1);
            assertThat(contributions(h, 1)).isNotEmpty().allMatch(c -> c.progress().step() == 2);
            assertThat(contributions(h, 2))
                    .as("it stepped to 4 with round 1 out; round 2 waits for round 1")
                    .isEmpty();

            sendGlobal(h, 0, 1, constant(0.25f));
            List<Contribution> round2 = contributions(h, 2);
            assertThat(round2)
                    .as("round 2 goes out as soon as round 1 is adopted")
                    .isNotEmpty()
                    .allMatch(c -> c.progress().step() == 4);
            h.setProcessingTime(50); // steps 5 and 6; round 3 waits for round 2
            assertThat(contributions(h, 3)).as("held back until round 2 is back").isEmpty();
        }
    }

    @Test
    void perTokensPacingTakesOneStepPerTokensArrived() throws Exception {
        try (var h =
                harness(config(SyncConfig.Mode.OVERLAP, ReplicaConfig.Pacing.PER_TOKENS, 64))) {
            feed(h, 20); // 20 windows x 16 new tokens = 320 tokens: 5 steps of 64
            h.setProcessingTime(1);
            sendGlobal(h, 0, 1, constant(0.25f)); // round 1 back: round 2 (step 4) goes out
            h.setProcessingTime(2);
            assertThat(contributions(h, 2)).isNotEmpty(); // step 4
            sendGlobal(h, 0, 2, constant(0.25f));
            h.setProcessingTime(3);
            assertThat(contributions(h, 3)).isEmpty(); // step 6 would need 384 tokens
            feed(h, 4);
            h.setProcessingTime(4);
            assertThat(contributions(h, 3)).isNotEmpty();
        }
    }

    @Test
    void aRestoredReplicaContinuesItsStepsInANewGeneration() throws Exception {
        OperatorSubtaskState snapshot;
        JobConfig config = config(SyncConfig.Mode.SYNC, ReplicaConfig.Pacing.CONTINUOUS, 1);
        try (var h = harness(config)) {
            feed(h, 20);
            h.setProcessingTime(1);
            sendGlobal(h, 0, 1, constant(0.1f));
            h.setProcessingTime(10); // steps 3 and 4, round 2 sent, waiting
            assertThat(contributions(h, 2)).isNotEmpty();
            snapshot = h.snapshot(1, 10);
        }
        var h =
                new KeyedBroadcastOperatorTestHarness<
                        Integer, TokenWindow, GlobalChunk, Contribution>(
                        new CoBroadcastWithKeyedOperator<>(
                                replica(config), List.of(TrainingReplica.MODEL_TOPIC)),
                        w -> 0,
                        Types.INT,
                        128,
                        1,
                        0);
        try {
            h.initializeState(snapshot);
            h.open();
            h.setProcessingTime(
                    20); // the restored timer fires: it sends round 2 again, in generation 1
            List<Contribution> resent = contributions(h, 2);
            assertThat(resent)
                    .isNotEmpty()
                    .allMatch(c -> c.generation() == 1 && c.progress().step() == 4);
            sendGlobal(h, 0, 2, constant(0.2f)); // written by the old generation: ignored
            h.setProcessingTime(30);
            assertThat(contributions(h, 3)).isEmpty();
            sendGlobal(h, 1, 2, constant(0.2f));
            h.setProcessingTime(40);
            assertThat(contributions(h, 3)).isNotEmpty().allMatch(c -> c.progress().step() == 6);
            // its contribution to round 2, sealed before the checkpoint, is reported in generation
            // 1 when round 2 of it is published: what it had received, 20 windows of text-0
            // (the last ends at 19 x 16 + 17 = 321), and 4 steps x 8 x 16 tokens
            assertThat(h.getSideOutput(TrainingReplica.LINEAGE))
                    .extracting(StreamRecord::getValue)
                    .singleElement()
                    .satisfies(
                            report -> {
                                assertThat(report.generation()).isEqualTo(1);
                                assertThat(report.round()).isEqualTo(2);
                                assertThat(report.received())
                                        .containsExactly(Map.entry("text-0", 321L));
                                assertThat(report.tokens()).isEqualTo(4 * 8 * 16);
                            });
        } finally {
            h.close();
        }
    }

    /**
     * Subtask {@code subtask} of {@code parallelism} replicas, keyed as the job's router keys them.
     */
    private static KeyedBroadcastOperatorTestHarness<
                    Integer, TokenWindow, GlobalChunk, Contribution>
            subtask(JobConfig config, int subtask, int parallelism) throws Exception {
        int key = ReplicaRouter.keysForSubtasks(parallelism, 128)[subtask];
        return new KeyedBroadcastOperatorTestHarness<>(
                new CoBroadcastWithKeyedOperator<>(
                        replica(config), List.of(TrainingReplica.MODEL_TOPIC)),
                w -> key,
                Types.INT,
                128,
                parallelism,
                subtask);
    }

    private static float[] values(List<Contribution> chunks) {
        float[] all = new float[PARAMETERS];
        for (Contribution c : chunks) {
            System.arraycopy(
                    c.slice().values(), 0, all, c.chunk() * 1000, c.slice().values().length);
        }
        return all;
    }

    /**
     * Replicas of {@code parallelism} subtasks, each at step 4 waiting for round 2, having adopted
     * {@code global} as round 1.
     */
    private static OperatorSubtaskState[] waitingForRound2(
            JobConfig config, int parallelism, float[] global) throws Exception {
        OperatorSubtaskState[] snapshots = new OperatorSubtaskState[parallelism];
        for (int i = 0; i < parallelism; i++) {
            try (var h = subtask(config, i, parallelism)) {
                h.open();
                feed(h, 20);
                h.setProcessingTime(1);
                sendGlobal(h, 0, 1, global);
                h.setProcessingTime(10);
                assertThat(contributions(h, 2))
                        .isNotEmpty()
                        .allMatch(c -> c.progress().step() == 4);
                snapshots[i] = h.snapshot(1, 10);
            }
        }
        return snapshots;
    }

    @Test
    void aRestoredReplicaTrainsOnExactlyAsIfItHadNeverStopped() throws Exception {
        JobConfig config = config(SyncConfig.Mode.SYNC, ReplicaConfig.Pacing.CONTINUOUS, 1);
        OperatorSubtaskState snapshot;
        float[] uninterrupted;
        try (var h = subtask(config, 0, 1)) {
            h.open();
            feed(h, 20);
            h.setProcessingTime(1);
            sendGlobal(h, 0, 1, values(contributions(h, 1)));
            h.setProcessingTime(10); // steps 3 and 4: AdamW moments built over four steps
            snapshot = h.snapshot(1, 10);
            sendGlobal(h, 0, 2, values(contributions(h, 2)));
            h.setProcessingTime(20);
            uninterrupted = values(contributions(h, 3));
        }
        try (var h = subtask(config, 0, 1)) {
            h.initializeState(snapshot);
            h.open();
            h.setProcessingTime(20);
            List<Contribution> resent = contributions(h, 2);
            sendGlobal(h, 1, 2, values(resent));
            h.setProcessingTime(30);
            List<Contribution> round3 = contributions(h, 3);
            assertThat(round3)
                    .isNotEmpty()
                    .allMatch(c -> c.generation() == 1 && c.progress().step() == 6);
            // same parameters, AdamW moments, batches and step count: bitwise the same update
            assertThat(values(round3)).containsExactly(uninterrupted);
        }
    }

    @Test
    void aReplicaAddedByARescaleStartsFromTheGlobalModelAtItsRound() throws Exception {
        JobConfig config = config(SyncConfig.Mode.SYNC, ReplicaConfig.Pacing.CONTINUOUS, 1);
        float[] global = constant(0.1f);
        OperatorSubtaskState both =
                AbstractStreamOperatorTestHarness.repackageState(
                        waitingForRound2(config, 2, global));
        try (var h = subtask(config, 2, 3)) {
            h.initializeState(
                    AbstractStreamOperatorTestHarness.repartitionOperatorState(both, 128, 2, 3, 2));
            h.open();
            feed(h, 20);
            h.setProcessingTime(20);
            // it joins at round 1's step (2) and contributes to round 2 like the others, trained
            // from round 1's model
            List<Contribution> first = h.extractOutputValues();
            assertThat(first)
                    .isNotEmpty()
                    .allMatch(
                            c -> c.round() == 2 && c.progress().step() == 4 && c.generation() == 1);
            assertThat(first.get(0).baseChecksum()).isEqualTo(FloatArrays.crc32(global));
            assertThat(first.get(0).progress().tokens()).isEqualTo(2 * 8 * 16);
        }
    }

    @Test
    void aSubtaskTakingOverTwoReplicasKeepsWhatBothTrainedOn() throws Exception {
        JobConfig config = config(SyncConfig.Mode.SYNC, ReplicaConfig.Pacing.CONTINUOUS, 1);
        OperatorSubtaskState all =
                AbstractStreamOperatorTestHarness.repackageState(
                        waitingForRound2(config, 3, constant(0.1f)));
        try (var h = subtask(config, 0, 2)) {
            h.initializeState(
                    AbstractStreamOperatorTestHarness.repartitionOperatorState(all, 128, 3, 2, 0));
            h.open();
            feed(h, 1); // a window wakes it (the timers of its former keys may be elsewhere)
            h.setProcessingTime(20);
            List<Contribution> resent = contributions(h, 2);
            assertThat(resent)
                    .isNotEmpty()
                    .allMatch(c -> c.generation() == 1 && c.progress().step() == 4);
            assertThat(resent.get(0).progress().tokens())
                    .as("both replicas' 4 steps")
                    .isEqualTo(2 * 4 * 8 * 16);
            sendGlobal(h, 1, 2, constant(0.2f));
            h.setProcessingTime(30);
            assertThat(contributions(h, 3))
                    .isNotEmpty()
                    .allMatch(
                            c ->
                                    c.progress().step() == 6
                                            && c.progress().tokens() == (2 * 4 + 2) * 8 * 16);
        }
    }
}
