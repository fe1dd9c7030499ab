package io.streamgpt.connectors.records;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;

import java.util.Iterator;
import java.util.Locale;
import java.util.Set;

/**
 * A request for text from the live model, as JSON on the prompts topic:
 *
 * <pre>
 * {"id": "r1", "prompt": "ROMEO:", "tokens": 300, "temperature": 0.8, "top_k": 50, "seed": 7, "timeout_ms": 60000}
 * </pre>
 *
 * {@code id} and {@code prompt} are required; the others default to {@value #DEFAULT_TOKENS}
 * tokens, temperature {@value #DEFAULT_TEMPERATURE}, the whole vocabulary, a seed from the id and
 * {@value #DEFAULT_TIMEOUT_MS} ms. The job, the {@code generate} command and the HTTP API check
 * requests with these same rules. Prompt characters outside the model's vocabulary are skipped and
 * counted in the answer, as the job does with text.
 *
 * @param topK sample among the k most likely tokens; 0 (what an absent {@code top_k} means) keeps
 *     all
 * @param timeoutMs how long the sender waits: a request older than this is not worth generating for
 */
public record PromptRequest(
        String id,
        String prompt,
        int tokens,
        double temperature,
        @JsonInclude(JsonInclude.Include.NON_DEFAULT) int topK,
        long seed,
        long timeoutMs) {

    public static final int MAX_ID_CHARS = 128;
    public static final int MAX_PROMPT_CHARS = 2000;
    public static final int MAX_TOKENS = 1000;
    public static final double MAX_TEMPERATURE = 2.0;
    public static final long MAX_TIMEOUT_MS = 600_000;

    /** A request's JSON, well above what the limits above allow. */
    public static final int MAX_REQUEST_CHARS = 16_384;

    public static final int DEFAULT_TOKENS = 200;
    public static final double DEFAULT_TEMPERATURE = 1.0;
    public static final long DEFAULT_TIMEOUT_MS = 60_000;

    /**
     * The vocabulary size for senders that do not know it: the job checks top_k against its own.
     */
    public static final int ANY_VOCABULARY = Integer.MAX_VALUE;

    private static final Set<String> FIELDS =
            Set.of("id", "prompt", "tokens", "temperature", "top_k", "seed", "timeout_ms");
    private static final ObjectMapper JSON =
            new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

    /** A request that breaks a rule; {@link #id()} is its id where one could be read, else null. */
    public static final class Invalid extends IllegalArgumentException {
        private final String id;

        Invalid(String id, String reason) {
            super(reason);
            this.id = id;
        }

        public String id() {
            return id;
        }
    }

    public PromptRequest {
        if (id == null || id.isBlank() || id.length() > MAX_ID_CHARS) {
            throw new Invalid(
                    null,
                    "id must be a non-empty string of at most " + MAX_ID_CHARS + " characters");
        }
        if (prompt == null) {
            throw new Invalid(id, "missing field 'prompt' (a string)");
        }
        int chars = prompt.codePointCount(0, prompt.length());
        if (chars > MAX_PROMPT_CHARS) {
            throw new Invalid(
                    id,
                    "prompt has "
                            + chars
                            + " characters, at most "
                            + MAX_PROMPT_CHARS
                            + " are allowed");
        }
        if (tokens < 1 || tokens > MAX_TOKENS) {
            throw new Invalid(id, "tokens must be in [1, " + MAX_TOKENS + "], got " + tokens);
        }
        if (!(temperature > 0 && temperature <= MAX_TEMPERATURE)) {
            throw new Invalid(
                    id,
                    String.format(
                            Locale.ROOT,
                            "temperature must be in (0, %.0f], got %s",
                            MAX_TEMPERATURE,
                            temperature));
        }
        if (topK < 0) {
            throw new Invalid(id, "top_k must be >= 1, got " + topK);
        }
        if (timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
            throw new Invalid(
                    id, "timeout_ms must be in [1, " + MAX_TIMEOUT_MS + "], got " + timeoutMs);
        }
    }

    /** A request with the defaults for what it does not give. */
    public static PromptRequest of(String id, String prompt) {
        return new PromptRequest(
                id,
                prompt,
                DEFAULT_TOKENS,
                DEFAULT_TEMPERATURE,
                0,
                defaultSeed(id),
                DEFAULT_TIMEOUT_MS);
    }

    /**
     * Reads and checks a request. {@code vocabSize} bounds {@code top_k} ({@link #ANY_VOCABULARY}
     * where the model is not known).
     *
     * @throws Invalid with the reason, and the id if the JSON had a usable one
     */
    public static PromptRequest parse(String json, int vocabSize) {
        if (json.length() > MAX_REQUEST_CHARS) {
            throw new Invalid(null, "request is longer than " + MAX_REQUEST_CHARS + " characters");
        }
        JsonNode node;
        try {
            node = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new Invalid(null, "malformed JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new Invalid(null, "a prompt request must be a JSON object");
        }
        JsonNode idNode = node.get("id");
        if (idNode == null || !idNode.isTextual()) {
            throw new Invalid(null, "missing field 'id' (a string)");
        }
        String id = idNode.asText();
        if (id.isBlank() || id.length() > MAX_ID_CHARS) {
            throw new Invalid(
                    null,
                    "id must be a non-empty string of at most " + MAX_ID_CHARS + " characters");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new Invalid(
                        id,
                        "unknown field '"
                                + name
                                + "' (known: id, prompt, tokens, temperature, top_k, seed,"
                                + " timeout_ms)");
            }
        }
        JsonNode prompt = node.get("prompt");
        if (prompt == null || !prompt.isTextual()) {
            throw new Invalid(id, "missing field 'prompt' (a string)");
        }
        long topK = integer(node, "top_k", 0, id);
        if (node.has("top_k") && (topK < 1 || topK > vocabSize)) {
            throw new Invalid(
                    id,
                    "top_k must be in [1, "
                            + (vocabSize == ANY_VOCABULARY ? "vocabulary size" : vocabSize)
                            + "], got "
                            + node.get("top_k"));
        }
        JsonNode temperature = node.get("temperature");
        if (temperature != null && !temperature.isNumber()) {
            throw new Invalid(id, "temperature must be a number, got " + temperature);
        }
        long tokens = integer(node, "tokens", DEFAULT_TOKENS, id);
        if (tokens < 1 || tokens > MAX_TOKENS) {
            throw new Invalid(id, "tokens must be in [1, " + MAX_TOKENS + "], got " + tokens);
        }
        return new PromptRequest(
                id,
                prompt.asText(),
                (int) tokens,
                temperature == null ? DEFAULT_TEMPERATURE : temperature.asDouble(),
                (int) topK,
                integer(node, "seed", defaultSeed(id), id),
                integer(node, "timeout_ms", DEFAULT_TIMEOUT_MS, id));
    }

    private static long integer(JsonNode request, String field, long fallback, String id) {
        JsonNode value = request.get(field);
        if (value == null) {
            return fallback;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw new Invalid(id, field + " must be an integer, got " + value);
        }
        return value.asLong();
    }

    /** Requests without a seed still differ from each other, and repeat with their id. */
    private static long defaultSeed(String id) {
        return id.hashCode();
    }

    /**
     * The request as it goes on the prompts topic; {@code top_k} is left out when it keeps all
     * tokens.
     */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
