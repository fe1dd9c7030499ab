package io.streamgpt.connectors.client;

import io.streamgpt.model.GptConfig;
import io.streamgpt.model.Vocabulary;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a reader of a model topic needs to rebuild the model its chunks carry: the shape, the
 * vocabulary by content, how the parameter vector is cut into chunks, and the job options that gave
 * them. The job publishes it on the compacted metadata topic, keyed by the model topic's name
 * ({@link ModelMetadataTopic}); {@code export} and {@code generate}/{@code serve} users then need
 * no model options.
 *
 * <pre>
 * {"format": 1, "model_topic": "streamgpt-model",
 *  "config": {"vocab_size", "block_size", "n_layer", "n_head", "n_embd", "dropout"},
 *  "vocabulary": {"kind": "chars"|"bytes", "characters": "..."},
 *  "chunk_size": 131072,
 *  "job_options": {"block-size": "64", ..., "vocab": "shakespeare", "chunk-size": "131072",
 *                  "sync-fragments": "2"},
 *  "time_ms": ...}
 * </pre>
 *
 * A reader refuses a format it does not know; fields it does not know are ignored.
 *
 * @param modelTopic the topic whose chunks this describes
 * @param config the model's shape
 * @param vocabulary the vocabulary, by content
 * @param chunkSize parameters per chunk on the topic
 * @param jobOptions the job's settings that shape the model, as {@code --NAME} to text
 * @param timeMs when it was published
 */
public record ModelMetadata(
        String modelTopic,
        GptConfig config,
        Vocabulary vocabulary,
        int chunkSize,
        Map<String, String> jobOptions,
        long timeMs) {

    /** The format this build writes and reads. */
    public static final int FORMAT = 1;

    /**
     * The job option that says how the model topic's rounds are cut into streamed fragments (the
     * job's {@code --sync-fragments}); metadata of a build before it has none, and 1 fragment.
     */
    public static final String FRAGMENTS_OPTION = "sync-fragments";

    private static final ObjectMapper JSON =
            new ObjectMapper()
                    .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                    .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public ModelMetadata {
        if (vocabulary.size() != config.vocabSize()) {
            throw new IllegalArgumentException(
                    "vocabulary has "
                            + vocabulary.size()
                            + " tokens, the config says "
                            + config.vocabSize());
        }
        jobOptions = Map.copyOf(jobOptions);
    }

    /** The record's value: versioned JSON, UTF-8. */
    public byte[] toJson() {
        ObjectNode node = JSON.createObjectNode();
        node.put("format", FORMAT);
        node.put("model_topic", modelTopic);
        node.set("config", JSON.valueToTree(config));
        ObjectNode vocab = node.putObject("vocabulary");
        vocab.put("kind", vocabulary.kind().name().toLowerCase(Locale.ROOT));
        vocab.put("characters", vocabulary.characters());
        node.put("chunk_size", chunkSize);
        ObjectNode options = node.putObject("job_options");
        new java.util.TreeMap<>(jobOptions).forEach(options::put);
        node.put("time_ms", timeMs);
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads {@link #toJson}'s bytes: from the metadata topic through {@link
     * ModelMetadataTopic#read} only, so that what is trusted there is checked in one place; else
     * from a file a local run of this user wrote itself (the model of a kept checkpoint).
     *
     * @throws IllegalArgumentException if it is not metadata of a format this build reads
     */
    public static ModelMetadata fromJson(byte[] value) {
        try {
            JsonNode node = JSON.readTree(new String(value, StandardCharsets.UTF_8));
            int format = node.path("format").asInt(-1);
            if (format != FORMAT) {
                throw new IllegalArgumentException(
                        "model metadata of format " + format + ", this build reads " + FORMAT);
            }
            JsonNode vocab = node.path("vocabulary");
            Vocabulary vocabulary =
                    "bytes".equals(vocab.path("kind").asText())
                            ? Vocabulary.bytes()
                            : Vocabulary.ofCharacters(vocab.path("characters").asText());
            Map<String, String> options = new LinkedHashMap<>();
            node.path("job_options")
                    .fields()
                    .forEachRemaining(e -> options.put(e.getKey(), e.getValue().asText()));
            return new ModelMetadata(
                    node.path("model_topic").asText(),
                    JSON.treeToValue(node.path("config"), GptConfig.class),
                    vocabulary,
                    node.path("chunk_size").asInt(),
                    options,
                    node.path("time_ms").asLong());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not model metadata: " + e.getMessage(), e);
        }
    }

    /**
     * Streamed fragments per whole model on the topic ({@link #FRAGMENTS_OPTION}): what a reader of
     * whole versions needs ({@code ModelTopicReader}); 1 when the job did not say.
     */
    public int fragments() {
        String value = jobOptions.get(FRAGMENTS_OPTION);
        try {
            int fragments = value == null ? 1 : Integer.parseInt(value.strip());
            if (fragments < 1) {
                throw new NumberFormatException("below 1");
            }
            return fragments;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "model metadata of " + modelTopic + ": " + FRAGMENTS_OPTION + " " + value, e);
        }
    }

    /** The same model: shape and vocabulary (chunking and time may differ). */
    public boolean sameModel(ModelMetadata other) {
        return config.equals(other.config) && vocabulary.equals(other.vocabulary);
    }

    /**
     * How {@code shape} and {@code vocab} (what options asked for) differ from this model, e.g.
     * {@code "n-head 8 (given) vs 4 (the job's)"}; null when they do not.
     */
    public String mismatch(GptConfig shape, Vocabulary vocab) {
        List<String> differences = new ArrayList<>();
        compare(differences, "block-size", shape.blockSize(), config.blockSize());
        compare(differences, "n-layer", shape.nLayer(), config.nLayer());
        compare(differences, "n-head", shape.nHead(), config.nHead());
        compare(differences, "n-embd", shape.nEmbd(), config.nEmbd());
        compare(differences, "dropout", shape.dropout(), config.dropout());
        if (!vocab.equals(vocabulary)) {
            differences.add("vocab " + vocab + " (given) vs " + vocabulary + " (the job's)");
        }
        return differences.isEmpty() ? null : String.join(", ", differences);
    }

    private static void compare(List<String> differences, String name, Object given, Object job) {
        if (!given.equals(job)) {
            differences.add(name + " " + given + " (given) vs " + job + " (the job's)");
        }
    }
}
