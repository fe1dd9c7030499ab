package io.streamgpt.job.serve;

import io.streamgpt.connectors.chunks.GlobalChunk;
import io.streamgpt.connectors.chunks.Progress;
import io.streamgpt.connectors.chunks.RoundId;
import io.streamgpt.connectors.chunks.Slice;
import io.streamgpt.connectors.records.PromptRecord;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.connectors.records.TopicRecord;
import io.streamgpt.job.LiveModelSpec;
import io.streamgpt.job.TestConfigs;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.ReplicaConfig;
import io.streamgpt.job.config.SyncConfig;
import io.streamgpt.model.Gpt;

import ai.djl.Device;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.api.operators.co.KeyedCoProcessOperator;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The prompt responder as Flink runs it (operator test harness, real libtorch, the tiny model). */
class PromptResponderTest {

    private static final JobConfig CONFIG =
            TestConfigs.tiny("127.0.0.1:1", "unit")
                    .withReplicas(r -> r.with(ReplicaConfig.COUNT, 1))
                    .withSync(s -> s.with(SyncConfig.EVERY, 1).with(SyncConfig.TIMEOUT_MS, 1000L));
    private static float[] parameters;

    @BeforeAll
    static void model() {
        try (Gpt gpt = Gpt.create(TestConfigs.TINY_MODEL, 7, Device.cpu())) {
            parameters = gpt.parameterValues();
        }
    }

    /** A harness to initialize (or not) and open. */
    private static KeyedTwoInputStreamOperatorTestHarness<
                    Integer, PromptRecord, GlobalChunk, TopicRecord>
            harness() throws Exception {
        return new KeyedTwoInputStreamOperatorTestHarness<>(
                new KeyedCoProcessOperator<>(
                        new PromptResponder(
                                new LiveModelSpec(
                                        CONFIG.model(),
                                        CONFIG.vocabulary(),
                                        CONFIG.sync().chunkSize(),
                                        1),
                                CONFIG.serving(),
                                CONFIG.topics())),
                r -> 0,
                c -> 0,
                Types.INT);
    }

    private static long offset;

    private static PromptRecord record(String json, long timestampMs) {
        return new PromptRecord(
                "unit-prompts", 0, offset++, timestampMs, json.getBytes(StandardCharsets.UTF_8));
    }

    private static void ask(
            KeyedTwoInputStreamOperatorTestHarness<Integer, PromptRecord, GlobalChunk, TopicRecord>
                    h,
            String id,
            int tokens)
            throws Exception {
        h.processElement1(
                record(
                        "{\"id\": \""
                                + id
                                + "\", \"prompt\": \"ROMEO:\", \"tokens\": "
                                + tokens
                                + ", \"temperature\": 0.8, \"top_k\": 50}",
                        0),
                0);
    }

    private static void publishModel(
            KeyedTwoInputStreamOperatorTestHarness<Integer, PromptRecord, GlobalChunk, TopicRecord>
                    h,
            long round)
            throws Exception {
        int chunkSize = CONFIG.sync().chunkSize();
        for (int c = 0; c < Slice.count(parameters.length, chunkSize); c++) {
            h.processElement2(
                    new GlobalChunk(
                            new RoundId(0, round),
                            1,
                            new Progress(round * 10, 0, 1f),
                            null,
                            Slice.of(parameters, c, chunkSize)),
                    0);
        }
    }

    /**
     * Fires timers until {@code count} answers with text are out (each firing generates for at most
     * 20 ms).
     */
    private static void answerUntil(
            KeyedTwoInputStreamOperatorTestHarness<Integer, PromptRecord, GlobalChunk, TopicRecord>
                    h,
            int count)
            throws Exception {
        for (int tick = 0;
                tick < 10_000 && answers(h).stream().filter(a -> a.text() != null).count() < count;
                tick++) {
            h.setProcessingTime(h.getProcessingTime() + 1);
        }
    }

    /** The final answers (not the parts published while generating). */
    private static List<Reports.Answer> answers(
            KeyedTwoInputStreamOperatorTestHarness<Integer, PromptRecord, GlobalChunk, TopicRecord>
                    h) {
        return answersAndParts(h).stream().filter(a -> !a.inProgress()).toList();
    }

    private static List<Reports.Answer> answersAndParts(
            KeyedTwoInputStreamOperatorTestHarness<Integer, PromptRecord, GlobalChunk, TopicRecord>
                    h) {
        return h.extractOutputValues().stream()
                .filter(r -> r.topic().equals(CONFIG.topics().answers()))
                .map(
                        r -> {
                            Reports.Answer a = Reports.fromJson(r.value(), Reports.Answer.class);
                            assertThat(r.key()).isEqualTo(a.id());
                            return a;
                        })
                .toList();
    }

    private static List<Reports.DeadLetter> deadLetters(
            KeyedTwoInputStreamOperatorTestHarness<Integer, PromptRecord, GlobalChunk, TopicRecord>
                    h) {
        return h.extractOutputValues().stream()
                .filter(r -> r.topic().equals(CONFIG.topics().deadLetters()))
                .map(r -> Reports.fromJson(r.value(), Reports.DeadLetter.class))
                .toList();
    }

    @Test
    void beforeAnyModelItSaysSoThenAnswersWithTheNewest() throws Exception {
        try (var h = harness()) {
            h.open();
            ask(h, "early", 10);
            assertThat(answers(h))
                    .singleElement()
                    .satisfies(
                            a -> {
                                assertThat(a.id()).isEqualTo("early");
                                assertThat(a.error()).isEqualTo("no model yet");
                                assertThat(a.text()).isNull();
                            });
            publishModel(h, 3);
            ask(h, "r1", 25);
            ask(h, "r2", 25);
            answerUntil(h, 2);
            List<Reports.Answer> texts = answers(h).stream().filter(a -> a.text() != null).toList();
            assertThat(texts).extracting(Reports.Answer::id).containsExactly("r1", "r2");
            assertThat(texts)
                    .allSatisfy(
                            a -> {
                                assertThat(a.text())
                                        .hasSize(25); // one character per token in the 65-character
                                // vocabulary
                                assertThat(a.error()).isNull();
                                assertThat(a.modelRound()).isEqualTo(3);
                                assertThat(a.step()).isEqualTo(30);
                                assertThat(a.unknownCharacters()).isZero();
                            });
            assertThat(deadLetters(h)).isEmpty();
        }
    }

    @Test
    void theSameRequestGivesTheSameTextAndUnknownCharactersAreCounted() throws Exception {
        try (var h = harness()) {
            h.open();
            publishModel(h, 1);
            String json =
                    "{\"id\": \"%s\", \"prompt\": \"ROMEO: 42 é\", \"tokens\": 30, \"seed\": 5}";
            h.processElement1(record(String.format(json, "a"), 0), 0);
            h.processElement1(record(String.format(json, "b"), 0), 0);
            answerUntil(h, 2);
            List<Reports.Answer> texts = answers(h);
            assertThat(texts).hasSize(2);
            assertThat(texts.get(0).text()).isEqualTo(texts.get(1).text());
            assertThat(texts.get(0).unknownCharacters()).isEqualTo(3); // '4', '2' and 'é'
        }
    }

    @Test
    void aLongAnswerIsPublishedInPartsThatMakeUpTheWholeText() throws Exception {
        try (var h = harness()) {
            h.open();
            publishModel(h, 1);
            ask(h, "long", 1000); // 1000 forward passes: many 20 ms firings
            answerUntil(h, 1);
            List<Reports.Answer> all = answersAndParts(h);
            List<Reports.Answer> parts = all.subList(0, all.size() - 1);
            Reports.Answer whole = all.get(all.size() - 1);
            assertThat(parts).isNotEmpty().allSatisfy(p -> assertThat(p.inProgress()).isTrue());
            assertThat(whole.inProgress()).isFalse();
            assertThat(whole.text()).hasSize(1000);
            String streamed =
                    parts.stream().map(Reports.Answer::text).collect(Collectors.joining());
            // the parts, in order, are the answer up to the last firing before it was complete
            assertThat(whole.text()).startsWith(streamed);
            assertThat(streamed.length()).isBetween(1, 999);
            assertThat(parts)
                    .allSatisfy(
                            p -> {
                                assertThat(p.modelRound()).isEqualTo(1);
                                assertThat(p.step()).isEqualTo(10);
                            });
            // the final answer's JSON is as before parts existed: no "partial" field
            assertThat(Reports.toJson(whole)).doesNotContain("partial");
        }
    }

    @Test
    void aFullQueueRefusesAtOnceAndTheAcceptedAreAllAnswered() throws Exception {
        try (var h = harness()) {
            h.open();
            publishModel(h, 1);
            int capacity = CONFIG.serving().promptQueue();
            for (int i = 0;
                    i < capacity + 8;
                    i++) { // no timer fires in between: nothing is answered yet
                ask(h, "p" + i, 3);
            }
            assertThat(answers(h))
                    .hasSize(8)
                    .allSatisfy(a -> assertThat(a.error()).isEqualTo("queue full"));
            assertThat(answers(h))
                    .extracting(Reports.Answer::id)
                    .containsExactlyElementsOf(
                            java.util.stream.IntStream.range(capacity, capacity + 8)
                                    .mapToObj(i -> "p" + i)
                                    .toList());
            answerUntil(h, capacity);
            assertThat(answers(h).stream().filter(a -> a.text() != null))
                    .hasSize(capacity)
                    .allSatisfy(a -> assertThat(a.text()).hasSize(3));
            ask(h, "after", 3); // room again
            answerUntil(h, capacity + 1);
            assertThat(answers(h))
                    .filteredOn(a -> a.id().equals("after"))
                    .singleElement()
                    .satisfies(a -> assertThat(a.text()).hasSize(3));
        }
    }

    @Test
    void badRequestsGetAnErrorAnswerAndADeadLetterWithTheirCoordinates() throws Exception {
        try (var h = harness()) {
            h.open();
            publishModel(h, 1);
            long first = offset;
            h.processElement1(record("{\"id\": \"x\", \"prompt\": ", 0), 0);
            h.processElement1(record("{\"id\": \"no-prompt\"}", 0), 0);
            h.processElement1(
                    record("{\"id\": \"hot\", \"prompt\": \"A\", \"temperature\": 9}", 0), 0);
            h.processElement1(
                    new PromptRecord("unit-prompts", 0, offset++, 0, new byte[0]),
                    0); // a tombstone
            List<Reports.DeadLetter> dead = deadLetters(h);
            assertThat(dead)
                    .extracting(Reports.DeadLetter::offset)
                    .containsExactly(first, first + 1, first + 2, first + 3);
            assertThat(dead)
                    .allSatisfy(
                            d -> {
                                assertThat(d.topic()).isEqualTo("unit-prompts");
                                assertThat(d.reason()).startsWith("bad prompt request: ");
                            });
            assertThat(dead.get(0).reason()).contains("malformed JSON");
            assertThat(dead.get(0).bytes()).isEqualTo(22);
            assertThat(dead.get(2).reason()).contains("temperature must be in (0, 2]");
            assertThat(answers(h))
                    .extracting(Reports.Answer::id, Reports.Answer::error)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple(
                                    "no-prompt", "missing field 'prompt' (a string)"),
                            org.assertj.core.groups.Tuple.tuple(
                                    "hot", "temperature must be in (0, 2], got 9.0"));
        }
    }

    @Test
    void aRequestOlderThanItsTimeoutExpiresUnanswered() throws Exception {
        try (var h = harness()) {
            h.open();
            publishModel(h, 1);
            h.setProcessingTime(100_000);
            h.processElement1(
                    record("{\"id\": \"old\", \"prompt\": \"A\", \"timeout_ms\": 1000}", 98_000),
                    0);
            h.processElement1(
                    record(
                            "{\"id\": \"fresh\", \"prompt\": \"A\", \"tokens\": 2, \"timeout_ms\":"
                                    + " 1000}",
                            99_500),
                    0);
            answerUntil(h, 1);
            assertThat(answers(h))
                    .extracting(Reports.Answer::id, Reports.Answer::error)
                    .containsExactly(
                            org.assertj.core.groups.Tuple.tuple("old", "expired"),
                            org.assertj.core.groups.Tuple.tuple("fresh", null));
        }
    }

    @Test
    void acceptedRequestsSurviveARestore() throws Exception {
        OperatorSubtaskState snapshot;
        try (var h = harness()) {
            h.open();
            publishModel(h, 1);
            ask(h, "kept-1", 5);
            ask(h, "kept-2", 5);
            snapshot = h.snapshot(1, 1);
        }
        try (var h = harness()) {
            h.initializeState(snapshot);
            h.open();
            publishModel(h, 2); // the restored job's model comes back on the model topic
            answerUntil(h, 2);
            assertThat(answers(h))
                    .extracting(Reports.Answer::id)
                    .containsExactly("kept-1", "kept-2");
            assertThat(answers(h)).allSatisfy(a -> assertThat(a.modelRound()).isEqualTo(2));
        }
    }
}
