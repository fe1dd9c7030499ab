package io.streamgpt.cli.serve;

import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.Set;
import java.util.UUID;

/**
 * OpenAI's completions API (the legacy {@code POST /v1/completions}) over the job's prompt
 * requests: what a request means as a {@link PromptRequest}, and the JSON of responses, stream
 * chunks and errors in OpenAI's shapes, so that existing clients work unchanged. Every response
 * also names the model version that answered ({@code model_version}: generation, round, step; and
 * {@code system_fingerprint} {@code g<generation>-r<round>-s<step>}).
 */
final class Completions {

    /** The one model the server offers: whatever the job's live model is now. */
    static final String MODEL = "streamgpt";

    /** OpenAI's default for max_tokens. */
    static final int DEFAULT_MAX_TOKENS = 16;

    private static final Set<String> FIELDS =
            Set.of(
                    "model",
                    "prompt",
                    "max_tokens",
                    "temperature",
                    "top_k",
                    "seed",
                    "stream",
                    "n",
                    "user");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A completion request that breaks a rule: 400, or 404 for an unknown model. */
    static final class Invalid extends IllegalArgumentException {
        final int status;
        final String param;

        Invalid(int status, String param, String message) {
            super(message);
            this.status = status;
            this.param = param;
        }
    }

    /** A request read: the prompt request for the job, and whether to stream. */
    record Request(PromptRequest prompt, boolean stream, long created) {}

    private Completions() {}

    /**
     * Reads a completion request and checks it with the job's rules ({@link PromptRequest#parse}).
     */
    static Request parse(String body, long timeoutMs) {
        JsonNode node;
        try {
            node = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new Invalid(400, null, "malformed JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new Invalid(400, null, "a completion request must be a JSON object");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new Invalid(
                        400,
                        name,
                        "unsupported parameter '"
                                + name
                                + "' (supported: "
                                + String.join(", ", new java.util.TreeSet<>(FIELDS))
                                + ")");
            }
        }
        JsonNode model = node.get("model");
        if (model != null && !model.isNull() && !MODEL.equals(model.asText())) {
            throw new Invalid(
                    404,
                    "model",
                    "the model '" + model.asText() + "' does not exist; this server has " + MODEL);
        }
        if (node.has("n") && node.get("n").asInt(-1) != 1) {
            throw new Invalid(400, "n", "n must be 1: the live model gives one choice");
        }
        JsonNode prompt = node.get("prompt");
        if (prompt != null && prompt.isArray() && prompt.size() == 1) {
            prompt = prompt.get(0); // a list of one prompt, as some clients send
        }
        if (prompt == null || !prompt.isTextual()) {
            throw new Invalid(400, "prompt", "prompt must be a string");
        }
        JsonNode stream = node.get("stream");
        if (stream != null && !stream.isBoolean() && !stream.isNull()) {
            throw new Invalid(400, "stream", "stream must be true or false");
        }
        ObjectNode request = JSON.createObjectNode();
        request.put("id", "cmpl-" + UUID.randomUUID());
        request.set("prompt", prompt);
        request.set(
                "tokens",
                node.has("max_tokens")
                        ? node.get("max_tokens")
                        : JSON.getNodeFactory().numberNode(DEFAULT_MAX_TOKENS));
        for (String same : new String[] {"temperature", "top_k", "seed"}) {
            if (node.has(same) && !node.get(same).isNull()) {
                request.set(same, node.get(same));
            }
        }
        request.put("timeout_ms", timeoutMs);
        PromptRequest parsed;
        try {
            parsed = PromptRequest.parse(request.toString(), PromptRequest.ANY_VOCABULARY);
        } catch (PromptRequest.Invalid e) {
            // the job's names for two of OpenAI's fields
            throw new Invalid(400, null, e.getMessage().replace("tokens must", "max_tokens must"));
        }
        return new Request(
                parsed, stream != null && stream.asBoolean(), System.currentTimeMillis() / 1000);
    }

    /** The whole answer as one completion. */
    static ObjectNode completion(Request request, Reports.Answer answer) {
        ObjectNode body = head(request, answer, "text_completion");
        body.set("choices", choices(answer.text(), "length"));
        long promptTokens =
                request.prompt().prompt().codePointCount(0, request.prompt().prompt().length())
                        - (answer.unknownCharacters() == null ? 0 : answer.unknownCharacters());
        ObjectNode usage = body.putObject("usage");
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", request.prompt().tokens());
        usage.put("total_tokens", promptTokens + request.prompt().tokens());
        return body;
    }

    /**
     * One server-sent event's data: a slice of text, or with {@code finishReason} the last chunk.
     */
    static ObjectNode chunk(
            Request request, Reports.Answer version, String text, String finishReason) {
        ObjectNode body = head(request, version, "text_completion");
        body.set("choices", choices(text, finishReason));
        return body;
    }

    private static ObjectNode head(Request request, Reports.Answer answer, String object) {
        ObjectNode body = JSON.createObjectNode();
        body.put("id", request.prompt().id());
        body.put("object", object);
        body.put("created", request.created());
        body.put("model", MODEL);
        if (answer.modelRound() != null) {
            body.put(
                    "system_fingerprint",
                    "g" + answer.generation() + "-r" + answer.modelRound() + "-s" + answer.step());
            body.set(
                    "model_version",
                    version(answer.generation(), answer.modelRound(), answer.step()));
        }
        return body;
    }

    static ObjectNode version(long generation, long round, long step) {
        ObjectNode version = JSON.createObjectNode();
        version.put("generation", generation);
        version.put("round", round);
        version.put("step", step);
        return version;
    }

    private static ArrayNode choices(String text, String finishReason) {
        ArrayNode choices = JSON.createArrayNode();
        ObjectNode choice = choices.addObject();
        choice.put("text", text);
        choice.put("index", 0);
        choice.putNull("logprobs");
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        return choices;
    }

    /** An error in OpenAI's shape: {@code {"error": {"message", "type", "param", "code"}}}. */
    static ObjectNode error(String message, String type, String param, String code) {
        ObjectNode body = JSON.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", message);
        error.put("type", type);
        if (param == null) {
            error.putNull("param");
        } else {
            error.put("param", param);
        }
        if (code == null) {
            error.putNull("code");
        } else {
            error.put("code", code);
        }
        return body;
    }
}
