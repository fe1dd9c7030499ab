package io.streamgpt.cli.bench;

import io.streamgpt.cli.JobArgs;
import io.streamgpt.cli.StreamGpt;
import io.streamgpt.connectors.records.EvalRecords;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bench drift} end to end with a small model and few steps: the real job on an in-process
 * broker and MiniCluster, three runs (UNIFORM, RECENT, fresh), one JSON object. What is checked is
 * the plumbing (every point has records of its own slice, scored by the model of that point), not
 * the figures: those come from the default run, reported in docs/evaluation.md.
 */
class DriftBenchTest {

    @Test
    void eachPointAfterTheSwitchHasThePrequentialLossOfItsSliceAndTheHeldOutLossOfA(
            @TempDir Path dir) throws Exception {
        // A: 40 lines of verse (90% streamed, 10% held out); B: 6 KB of a licence-like text in 2
        // slices; steps-a 80, steps-b 80, every 40: points at 0 and 40 steps after the switch
        String verse =
                "Shall I compare thee to a summer's day?\n"
                        + "Thou art more lovely and more temperate.\n";
        Path a = Files.writeString(dir.resolve("a.txt"), verse.repeat(60));
        String clause =
                "2. Permission (c) is granted to copy [verbatim] <copies> of this document;"
                        + " 100% = all.\n";
        Path b = Files.writeString(dir.resolve("b.txt"), clause.repeat(70));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] args =
                JobArgs.tinyModel(
                        "bench",
                        "drift",
                        "--data-a",
                        a.toString(),
                        "--data-b",
                        b.toString(),
                        "--steps-a",
                        "80",
                        "--steps-b",
                        "80",
                        "--every",
                        "40",
                        "--preset",
                        "cpu",
                        "--replicas",
                        "1",
                        "--prequential-every",
                        "1",
                        "--eval-iters",
                        "2",
                        "--replay-half-life-tokens",
                        "500",
                        "--model-secret",
                        "file:" + dir.resolve("model-secret"));
        int exit = StreamGpt.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        assertThat(exit).as(err.toString()).isZero();
        JsonNode result = new ObjectMapper().readTree(out.toString());
        assertThat(result.get("vocab").asText()).isEqualTo("chars(" + vocabularySize(a, b) + ")");
        assertThat(result.get("b_slice_bytes").asInt()).isEqualTo(clause.length() * 70 / 2);
        JsonNode points = result.get("points");
        assertThat(points).hasSize(2);
        for (int k = 0; k < 2; k++) {
            JsonNode point = points.get(k);
            assertThat(point.get("nominal_steps_since_switch").asInt()).isEqualTo(40 * k);
            for (String run : new String[] {"uniform", "recent", "fresh"}) {
                JsonNode p = point.get(run);
                // slice k goes in once the job reached switch + 40 k and took in all text before
                long switchStep = run.equals("fresh") ? 0 : 80;
                long fedAfter = p.get("fed_after_step").asLong();
                assertThat(fedAfter)
                        .as(run + " point " + k)
                        .isGreaterThanOrEqualTo(switchStep + 40L * k);
                assertThat(p.get("steps_since_switch").asLong())
                        .isEqualTo(
                                p.get("scored_by_step").asLong()
                                        - points.get(0).get(run).get("scored_by_step").asLong());
                // a slice of 3045 bytes is ~190 windows of 16 tokens, 9 in 10 trained on (~171),
                // every one scored (--prequential-every 1), and counted with its own slice
                assertThat(p.get("prequential_b_windows").asLong()).as(run).isGreaterThan(100);
                // scored after it was fed, by the version the bench last saw or later ones (the
                // tiny model runs tens of steps ahead of what the bench has read)
                assertThat(p.get("scored_by_step").asLong()).isGreaterThanOrEqualTo(fedAfter - 10);
                // below ln(vocab) + 1: a loss of a model's own prediction, not garbage
                assertThat(p.get("prequential_b_loss").asDouble()).isBetween(0.0, 5.5);
                if (!run.equals("fresh")) {
                    assertThat(p.get("held_out_a_loss").asDouble()).isBetween(0.0, 5.5);
                }
            }
        }
        JsonNode summary = result.get("summary");
        assertThat(summary.get("uniform_below_fresh_at_last").isBoolean()).isTrue();
        assertThat(summary.get("recent_below_fresh_at_last").isBoolean()).isTrue();
        assertThat(summary.get("uniform_held_out_a_increase").isNumber()).isTrue();
        assertThat(summary.get("recent_minus_uniform_prequential_b_last").isNumber()).isTrue();
    }

    private static EvalRecords.ModelLoss prequential(long round, float loss, long windows) {
        return EvalRecords.ModelLoss.of(
                EvalRecords.PREQUENTIAL, round * 10, round, 0, 0, loss, windows);
    }

    private static EvalRecords.Lineage lineage(long round, long offset) {
        return new EvalRecords.Lineage(
                EvalRecords.LINEAGE,
                EvalRecords.LINEAGE_FORMAT,
                round * 10,
                round,
                0,
                0,
                Map.of("t-0", offset),
                Map.of(),
                null,
                null,
                0);
    }

    @Test
    void aPrequentialRecordCountsForTheSliceItsNewestWindowStartedIn() {
        // A is tokens [0, 1000), slice 0 [1000, 2000), slice 1 [2000, 3000); windows of 17.
        // version v's record ends where lineage of round v + 1 says the replicas had received:
        // v 8 -> 990 (start 973: A, not counted), v 10 -> 1800 (slice 0), v 11 -> 2010 (start
        // 1993: slice 0), v 15 -> 2900 (slice 1)
        List<EvalRecords.ModelLoss> scores =
                List.of(
                        prequential(8, 3.0f, 10),
                        prequential(10, 2.0f, 20),
                        prequential(11, 2.6f, 10),
                        prequential(15, 1.5f, 30));
        List<EvalRecords.Lineage> lineage =
                List.of(lineage(9, 990), lineage(11, 1800), lineage(12, 2010), lineage(16, 2900));
        List<EvalRecords.ModelLoss> heldOut =
                List.of(
                        EvalRecords.ModelLoss.of(EvalRecords.VAL_DATA, 50, 5, 0, 0, 2.9f, 4),
                        EvalRecords.ModelLoss.of(EvalRecords.VAL_DATA, 100, 10, 0, 0, 2.8f, 4),
                        EvalRecords.ModelLoss.of(EvalRecords.VAL_DATA, 150, 15, 0, 0, 2.7f, 4));
        List<DriftBench.Point> points =
                DriftBench.points(
                        scores,
                        lineage,
                        heldOut,
                        new long[] {1000, 2000, 3000},
                        new long[] {100, 150, 200},
                        17);
        // point 0: (2.0 x 20 + 2.6 x 10) / 30 = 2.2 nats over 30 windows, at step
        // (100 x 20 + 110 x 10) / 30 = 103.3; held out: the record of step 100
        DriftBench.Point first = points.get(0);
        assertThat(first.prequentialB()).isCloseTo(2.2, org.assertj.core.data.Offset.offset(1e-6));
        assertThat(first.prequentialWindows()).isEqualTo(30);
        assertThat(first.scoredByStep()).isEqualTo(103);
        assertThat(first.stepsSinceSwitch()).isZero();
        assertThat(first.heldOutA()).isCloseTo(2.8, org.assertj.core.data.Offset.offset(1e-6));
        // point 1: version 15 alone, 150 - 103 = 47 steps after point 0
        DriftBench.Point second = points.get(1);
        assertThat(second.prequentialB()).isEqualTo(1.5);
        assertThat(second.prequentialWindows()).isEqualTo(30);
        assertThat(second.stepsSinceSwitch()).isEqualTo(47);
        assertThat(second.heldOutA()).isCloseTo(2.7, org.assertj.core.data.Offset.offset(1e-6));
    }

    private static long vocabularySize(Path a, Path b) throws Exception {
        return (Files.readString(a) + Files.readString(b)).chars().distinct().count();
    }
}
