package io.streamgpt.connectors.records;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The rules every sender and the job check a prompt request with. */
class PromptRequestTest {

    @Test
    void aFullRequestIsReadAndWrittenBack() {
        PromptRequest r =
                PromptRequest.parse(
                        "{\"id\": \"r1\", \"prompt\": \"ROMEO:\", \"tokens\": 300, \"temperature\":"
                                + " 0.8, \"top_k\": 50, \"seed\": 7, \"timeout_ms\": 5000}",
                        65);
        assertThat(r).isEqualTo(new PromptRequest("r1", "ROMEO:", 300, 0.8, 50, 7, 5000));
        assertThat(PromptRequest.parse(r.toJson(), 65)).isEqualTo(r);
    }

    @Test
    void onlyIdAndPromptAreRequired() {
        PromptRequest r = PromptRequest.parse("{\"id\": \"r2\", \"prompt\": \"\"}", 65);
        assertThat(r).isEqualTo(PromptRequest.of("r2", ""));
        assertThat(r.tokens()).isEqualTo(PromptRequest.DEFAULT_TOKENS);
        assertThat(r.topK()).isZero(); // the whole vocabulary
        assertThat(r.toJson()).doesNotContain("top_k").contains("\"timeout_ms\":60000");
        assertThat(PromptRequest.parse(r.toJson(), 65)).isEqualTo(r);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '`',
            value = {
                "{\"id\": \"a\", \"prompt\": |malformed JSON|",
                "[1, 2]|a prompt request must be a JSON object|",
                "{\"prompt\": \"x\"}|missing field 'id'|",
                "{\"id\": 5, \"prompt\": \"x\"}|missing field 'id'|",
                "{\"id\": \"\", \"prompt\": \"x\"}|id must be a non-empty string|",
                "{\"id\": \"a\"}|missing field 'prompt'|a",
                "{\"id\": \"a\", \"prompt\": 3}|missing field 'prompt'|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"tokens\": 0}|tokens must be in [1, 1000], got"
                        + " 0|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"tokens\": 1001}|tokens must be in [1, 1000],"
                        + " got 1001|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"tokens\": 2.5}|tokens must be an integer|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"tokens\": \"many\"}|tokens must be an"
                        + " integer|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"temperature\": 0}|temperature must be in (0,"
                        + " 2]|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"temperature\": 2.01}|temperature must be in"
                        + " (0, 2]|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"temperature\": \"hot\"}|temperature must be a"
                        + " number|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"top_k\": 0}|top_k must be in [1, 65], got"
                        + " 0|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"top_k\": 66}|top_k must be in [1, 65], got"
                        + " 66|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"timeout_ms\": 0}|timeout_ms must be in [1,"
                        + " 600000]|a",
                "{\"id\": \"a\", \"prompt\": \"x\", \"top-k\": 5}|unknown field 'top-k'|a",
            })
    void badRequestsAreRefusedWithTheirReasonAndIdWhereReadable(
            String json, String reason, String id) {
        assertThatThrownBy(() -> PromptRequest.parse(json, 65))
                .isInstanceOf(PromptRequest.Invalid.class)
                .hasMessageContaining(reason)
                .satisfies(e -> assertThat(((PromptRequest.Invalid) e).id()).isEqualTo(id));
    }

    @Test
    void promptAndRequestLengthsAreBounded() {
        String longest = "a".repeat(PromptRequest.MAX_PROMPT_CHARS);
        assertThat(
                        PromptRequest.parse("{\"id\": \"a\", \"prompt\": \"" + longest + "\"}", 65)
                                .prompt())
                .hasSize(2000);
        assertThatThrownBy(
                        () ->
                                PromptRequest.parse(
                                        "{\"id\": \"a\", \"prompt\": \"" + longest + "b\"}", 65))
                .hasMessage("prompt has 2001 characters, at most 2000 are allowed");
        assertThatThrownBy(
                        () ->
                                PromptRequest.parse(
                                        "{\"id\": \"a\", \"prompt\": \""
                                                + "a".repeat(20_000)
                                                + "\"}",
                                        65))
                .hasMessageContaining("request is longer than 16384 characters")
                .satisfies(e -> assertThat(((PromptRequest.Invalid) e).id()).isNull());
        assertThatThrownBy(
                        () ->
                                PromptRequest.parse(
                                        "{\"id\": \"" + "i".repeat(129) + "\", \"prompt\": \"x\"}",
                                        65))
                .hasMessageContaining("at most 128 characters");
    }

    @Test
    void sendersThatDoNotKnowTheVocabularyLeaveTopKToTheJob() {
        assertThat(
                        PromptRequest.parse(
                                        "{\"id\": \"a\", \"prompt\": \"x\", \"top_k\": 200}",
                                        PromptRequest.ANY_VOCABULARY)
                                .topK())
                .isEqualTo(200);
        assertThatThrownBy(
                        () ->
                                PromptRequest.parse(
                                        "{\"id\": \"a\", \"prompt\": \"x\", \"top_k\": 200}", 65))
                .hasMessageContaining("top_k must be in [1, 65]");
    }
}
