package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;
import io.streamgpt.connectors.chunks.ModelSecret;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * The topics the job reads and writes.
 *
 * @param text text topics to train on (empty with a pattern)
 * @param textPattern regular expression of text topics, instead of a list; null for none
 * @param startingOffsets where new text reading starts: earliest, committed, latest or
 *     timestamp:EPOCH_MS
 * @param groupId Kafka consumer group of the text source (and prefix of the job's other groups)
 * @param model averaged model chunks: the feedback edge and the serving feed
 * @param modelSecret where the key is that signs and verifies the model topic's chunks: {@code
 *     file:PATH} or {@code env:NAME} (see {@link ModelSecret}); the location travels, never the key
 * @param losses loss records (JSON)
 * @param samples generated samples (JSON)
 * @param prompts prompt requests (JSON) answered from the live model
 * @param answers answers to prompt requests (JSON, keyed by request id)
 * @param deadLetters bad input: the offending record's coordinates and the reason (JSON)
 * @param metadata the model's metadata (JSON, compacted, keyed by model topic): what readers of the
 *     model topic rebuild it from
 */
public record TopicsConfig(
        List<String> text,
        String textPattern,
        String startingOffsets,
        String groupId,
        String model,
        String modelSecret,
        String losses,
        String samples,
        String prompts,
        String answers,
        String deadLetters,
        String metadata)
        implements Serializable {

    public static final Param<List<String>> TEXT =
            Param.ofList("text-topics", "Text topics, comma-separated.", List.of("text"));
    public static final Param<String> TEXT_PATTERN =
            Param.ofString(
                    "text-topic-pattern",
                    "A regular expression of text topics, instead of --text-topics.",
                    null);
    public static final Param<String> STARTING_OFFSETS =
            Param.ofString(
                            "starting-offsets",
                            "Where new text reading starts: earliest, committed, latest or"
                                    + " timestamp:EPOCH_MS.",
                            "earliest")
                    .mustBe(
                            s -> s.matches("earliest|committed|latest|timestamp:\\d+"),
                            "earliest, committed, latest or timestamp:EPOCH_MS");
    public static final Param<String> GROUP_ID =
            topic("group-id", "Kafka consumer group of the text source.", "streamgpt");
    public static final Param<String> MODEL =
            topic("model-topic", "Topic of averaged model chunks.", "streamgpt-model");
    public static final Param<String> MODEL_SECRET =
            Param.ofString(
                            "model-secret",
                            "Where the HMAC-SHA256 key of the model topic's chunks is: file:PATH"
                                    + " (~/ is the home directory) or env:NAME, at least 32 bytes;"
                                    + " submit and local create a missing file (32 random bytes,"
                                    + " mode 0600). Every machine of the job and export read it.",
                            "file:~/.streamgpt/model-secret")
                    .mustBe(ModelSecret::isLocation, "file:PATH or env:NAME");
    public static final Param<String> LOSSES =
            topic("losses-topic", "Topic of loss records.", "streamgpt-losses");
    public static final Param<String> SAMPLES =
            topic("samples-topic", "Topic of generated samples.", "streamgpt-samples");
    public static final Param<String> PROMPTS =
            topic("prompts-topic", "Topic of prompt requests.", "streamgpt-prompts");
    public static final Param<String> ANSWERS =
            topic("answers-topic", "Topic of answers to prompts.", "streamgpt-answers");
    public static final Param<String> DEAD_LETTERS =
            topic(
                    "dead-letter-topic",
                    "Topic of bad input records' coordinates and reasons.",
                    "streamgpt-dead-letters");
    public static final Param<String> METADATA =
            topic(
                    "metadata-topic",
                    "Compacted topic of the model's metadata (shape, vocabulary, chunking), keyed"
                            + " by model topic.",
                    "streamgpt-metadata");

    public static final List<Param<?>> PARAMS =
            List.of(
                    TEXT,
                    TEXT_PATTERN,
                    STARTING_OFFSETS,
                    GROUP_ID,
                    MODEL,
                    MODEL_SECRET,
                    LOSSES,
                    SAMPLES,
                    PROMPTS,
                    ANSWERS,
                    DEAD_LETTERS,
                    METADATA);

    public TopicsConfig {
        text = text == null ? List.of() : List.copyOf(text);
        List<String> errors =
                Params.errors(
                        PARAMS,
                        text,
                        textPattern,
                        startingOffsets,
                        groupId,
                        model,
                        modelSecret,
                        losses,
                        samples,
                        prompts,
                        answers,
                        deadLetters,
                        metadata);
        boolean pattern = textPattern != null && !textPattern.isBlank();
        if (text.isEmpty() == !pattern) {
            errors.add("give either text topics or a text topic pattern, not both or neither");
        }
        if (text.stream().anyMatch(String::isBlank)) {
            errors.add("text topic names must not be blank, got " + text);
        }
        List<String> own = List.of(model, losses, samples, prompts, answers, deadLetters, metadata);
        if (text.stream().anyMatch(own::contains)) {
            errors.add(
                    "text topics must not be the job's own topics (model, losses, samples,"
                            + " prompts, answers, dead letters, metadata)");
        }
        Params.require("topics config", errors);
    }

    public static TopicsConfig defaults() {
        return Params.defaults(TopicsConfig.class, PARAMS);
    }

    /** The default names with {@code prefix-} before each, for jobs that share a broker (tests). */
    public static TopicsConfig prefixed(String prefix) {
        return Params.create(
                TopicsConfig.class,
                PARAMS,
                Map.of(
                        TEXT, List.of(prefix + "-text"),
                        GROUP_ID, prefix,
                        MODEL, prefix + "-model",
                        LOSSES, prefix + "-losses",
                        SAMPLES, prefix + "-samples",
                        PROMPTS, prefix + "-prompts",
                        ANSWERS, prefix + "-answers",
                        DEAD_LETTERS, prefix + "-dead-letters",
                        METADATA, prefix + "-metadata"));
    }

    /** The consumer group of the job's model-topic source. */
    public String modelGroupId() {
        return groupId + "-model";
    }

    /** The consumer group of the job's prompts source. */
    public String promptsGroupId() {
        return groupId + "-prompts";
    }

    public <T> TopicsConfig with(Param<T> param, T value) {
        return Params.with(this, PARAMS, param, value);
    }

    private static Param<String> topic(String name, String doc, String defaultValue) {
        return Param.ofString(name, doc, defaultValue).mustBe(s -> !s.isBlank(), "non-empty");
    }
}
