package io.streamgpt.job.config;

import io.streamgpt.config.Param;
import io.streamgpt.config.Params;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelPreset;
import io.streamgpt.model.TrainingConfig;
import io.streamgpt.model.Vocabulary;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * Everything the streaming job needs to know, as named sections, each a record of {@link Param}s
 * validated with all its errors in one message. The command line's job options, the job's arguments
 * on a cluster and the configuration reference in docs/ are all derived from {@link #SECTIONS}.
 *
 * <pre>{@code
 * JobConfig config = JobConfig.defaults()
 *         .withReplicas(r -> r.with(ReplicaConfig.COUNT, 4))
 *         .withSync(s -> s.with(SyncConfig.EVERY, 20).with(SyncConfig.MODE, SyncConfig.Mode.OVERLAP));
 * JobConfig same = JobConfig.parse(Map.of("replicas", "4", "sync-every", "20", "sync-mode", "OVERLAP"));
 * }</pre>
 *
 * @param kafka where Kafka is
 * @param topics what the job reads and writes
 * @param model the GPT's shape, the vocabulary size included
 * @param training batches, AdamW, schedule and seed
 * @param replicas how many replicas train, how fast, on how much text
 * @param sync how replicas synchronise
 * @param input how text becomes windows
 * @param evaluation when losses and samples are reported
 * @param serving the prompt responder
 * @param checkpoints checkpoint interval, backend and storage
 * @param faults fault injection for tests
 */
public record JobConfig(
        KafkaConfig kafka,
        TopicsConfig topics,
        GptConfig model,
        TrainingConfig training,
        ReplicaConfig replicas,
        SyncConfig sync,
        InputConfig input,
        EvaluationConfig evaluation,
        ServingConfig serving,
        CheckpointConfig checkpoints,
        FaultConfig faults)
        implements Serializable {

    /** A headed group of settings, as the help and the configuration reference show them. */
    public record Section(String heading, List<Param<?>> params) {}

    /** Every setting of the job, by section. */
    public static final List<Section> SECTIONS =
            List.of(
                    new Section("Kafka", KafkaConfig.PARAMS),
                    new Section("Topics", TopicsConfig.PARAMS),
                    new Section(
                            "Model",
                            Stream.concat(
                                            Stream.of(ModelPreset.PARAM),
                                            GptConfig.PARAMS.stream().filter(p -> !p.isDerived()))
                                    .toList()),
                    new Section("Training", TrainingConfig.PARAMS),
                    new Section("Replicas", ReplicaConfig.PARAMS),
                    new Section("Synchronisation", SyncConfig.PARAMS),
                    new Section("Input", InputConfig.PARAMS),
                    new Section("Evaluation", EvaluationConfig.PARAMS),
                    new Section("Serving", ServingConfig.PARAMS),
                    new Section("Checkpoints", CheckpointConfig.PARAMS),
                    new Section("Fault injection", FaultConfig.PARAMS));

    public JobConfig {
        List<String> errors = new ArrayList<>();
        if (replicas.bufferTokens() <= model.blockSize()) {
            errors.add("buffer-tokens must exceed block-size, got " + replicas.bufferTokens());
        }
        if (input.stride() > model.blockSize() + 1) {
            errors.add("stride must be in [1, block-size + 1], got " + input.stride());
        }
        long chunks = sync.chunkCount(io.streamgpt.model.ParameterLayout.of(model).size());
        if (sync.fragments() > chunks) {
            errors.add(
                    "sync-fragments must not exceed the model's "
                            + chunks
                            + " chunks, got "
                            + sync.fragments());
        }
        Params.require("job config", errors);
    }

    /** The defaults: the cpu preset on the shakespeare vocabulary, two replicas, local Kafka. */
    public static JobConfig defaults() {
        return parse(Map.of());
    }

    /**
     * The job as {@code --NAME=VALUE} arguments say (what {@link #toArguments} writes and the
     * command line collects), every other setting at its default; every problem in one message.
     */
    public static JobConfig parse(Map<String, String> arguments) {
        List<String> errors = new ArrayList<>();
        InputConfig input = section(InputConfig.class, InputConfig.PARAMS, arguments, errors);
        ModelPreset.Choice model = null;
        try {
            int vocabularySize = vocabularySize(input == null ? "shakespeare" : input.vocabulary());
            model = ModelPreset.choose(arguments, vocabularySize);
        } catch (IllegalArgumentException e) {
            errors.add(e.getMessage().replaceFirst("^invalid ", ""));
        }
        Map<String, String> topicArguments = new LinkedHashMap<>(arguments);
        if (arguments.containsKey(TopicsConfig.TEXT_PATTERN.name())
                && !arguments.containsKey(TopicsConfig.TEXT.name())) {
            topicArguments.put(TopicsConfig.TEXT.name(), ""); // a pattern replaces the default list
        }
        KafkaConfig kafka = section(KafkaConfig.class, KafkaConfig.PARAMS, arguments, errors);
        TopicsConfig topics =
                section(TopicsConfig.class, TopicsConfig.PARAMS, topicArguments, errors);
        ReplicaConfig replicas =
                section(ReplicaConfig.class, ReplicaConfig.PARAMS, arguments, errors);
        SyncConfig sync = section(SyncConfig.class, SyncConfig.PARAMS, arguments, errors);
        EvaluationConfig evaluation =
                section(EvaluationConfig.class, EvaluationConfig.PARAMS, arguments, errors);
        ServingConfig serving =
                section(ServingConfig.class, ServingConfig.PARAMS, arguments, errors);
        CheckpointConfig checkpoints =
                section(CheckpointConfig.class, CheckpointConfig.PARAMS, arguments, errors);
        FaultConfig faults = section(FaultConfig.class, FaultConfig.PARAMS, arguments, errors);
        Params.require("job config", errors);
        return new JobConfig(
                kafka,
                topics,
                model.shape(),
                model.training(),
                replicas,
                sync,
                input,
                evaluation,
                serving,
                checkpoints,
                faults);
    }

    /**
     * Reads job arguments, {@code --NAME=VALUE} as {@code streamgpt submit} passes them or {@code
     * --NAME VALUE} as deployment manifests write them.
     */
    public static JobConfig fromArguments(String... arguments) {
        Map<String, String> values = new LinkedHashMap<>();
        List<Param<?>> known = SECTIONS.stream().flatMap(s -> s.params().stream()).toList();
        for (int i = 0; i < arguments.length; i++) {
            String argument = arguments[i];
            if (!argument.startsWith("--") || argument.length() == 2) {
                throw new IllegalArgumentException(
                        "job arguments are --NAME=VALUE, got " + argument);
            }
            int equals = argument.indexOf('=');
            String name = equals < 0 ? argument.substring(2) : argument.substring(2, equals);
            Param<?> param =
                    known.stream()
                            .filter(p -> p.name().equals(name))
                            .findFirst()
                            .orElseThrow(
                                    () ->
                                            new IllegalArgumentException(
                                                    "unknown job setting --" + name));
            if (equals < 0 && i + 1 == arguments.length) {
                throw new IllegalArgumentException("job setting --" + name + " has no value");
            }
            String value = equals < 0 ? arguments[++i] : argument.substring(equals + 1);
            if (param.isRepeatable()) { // one argument per property
                values.merge(name, value, (earlier, later) -> earlier + "\n" + later);
            } else {
                values.put(name, value);
            }
        }
        return parse(values);
    }

    /**
     * Every setting as {@code --NAME=VALUE}: what {@link #fromArguments} reads back to this config.
     */
    public List<String> toArguments() {
        List<String> arguments = new ArrayList<>();
        settings()
                .forEach(
                        (param, value) -> {
                            if (value != null && param.isRepeatable()) {
                                for (String line : param.format(value).split("\n")) {
                                    if (!line.isEmpty()) {
                                        arguments.add("--" + param.name() + "=" + line);
                                    }
                                }
                            } else if (value != null) {
                                arguments.add("--" + param.name() + "=" + param.format(value));
                            }
                        });
        return arguments;
    }

    /** Every setting with its value, by section order (the vocabulary size and preset excepted). */
    public Map<Param<?>, Object> settings() {
        Map<Param<?>, Object> settings = new LinkedHashMap<>();
        settings.putAll(Params.values(kafka, KafkaConfig.PARAMS));
        settings.putAll(Params.values(topics, TopicsConfig.PARAMS));
        Params.values(model, GptConfig.PARAMS)
                .forEach(
                        (param, value) -> {
                            if (!param.isDerived()) {
                                settings.put(param, value);
                            }
                        });
        settings.putAll(Params.values(training, TrainingConfig.PARAMS));
        settings.putAll(Params.values(replicas, ReplicaConfig.PARAMS));
        settings.putAll(Params.values(sync, SyncConfig.PARAMS));
        settings.putAll(Params.values(input, InputConfig.PARAMS));
        settings.putAll(Params.values(evaluation, EvaluationConfig.PARAMS));
        settings.putAll(Params.values(serving, ServingConfig.PARAMS));
        settings.putAll(Params.values(checkpoints, CheckpointConfig.PARAMS));
        settings.putAll(Params.values(faults, FaultConfig.PARAMS));
        return settings;
    }

    /** One line per setting, for the log at start. */
    public String describe() {
        StringBuilder out = new StringBuilder("streamgpt job config:\n");
        out.append(String.format(Locale.ROOT, "  %-24s %d%n", "vocab-size", model.vocabSize()));
        settings()
                .forEach(
                        (param, value) ->
                                out.append(
                                        String.format(
                                                Locale.ROOT,
                                                "  %-24s %s%n",
                                                param.name(),
                                                value == null
                                                        ? ""
                                                        : param.describe(value)
                                                                .replace("\n", ", "))));
        return out.toString();
    }

    /** Tokens between window starts: the input's stride, or block_size when it is 0. */
    public int stride() {
        return input.stride() == 0 ? model.blockSize() : input.stride();
    }

    /** The vocabulary the input section names. */
    public Vocabulary vocabulary() {
        try {
            return Vocabulary.named(input.vocabulary());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the vocabulary " + input.vocabulary(), e);
        }
    }

    // ---------------------------------------------------------------- withers, one per section

    public JobConfig withKafka(UnaryOperator<KafkaConfig> change) {
        return Params.withComponent(this, "kafka", change.apply(kafka));
    }

    public JobConfig withTopics(UnaryOperator<TopicsConfig> change) {
        return Params.withComponent(this, "topics", change.apply(topics));
    }

    public JobConfig withModel(UnaryOperator<GptConfig> change) {
        return Params.withComponent(this, "model", change.apply(model));
    }

    public JobConfig withTraining(UnaryOperator<TrainingConfig> change) {
        return Params.withComponent(this, "training", change.apply(training));
    }

    public JobConfig withReplicas(UnaryOperator<ReplicaConfig> change) {
        return Params.withComponent(this, "replicas", change.apply(replicas));
    }

    public JobConfig withSync(UnaryOperator<SyncConfig> change) {
        return Params.withComponent(this, "sync", change.apply(sync));
    }

    public JobConfig withInput(UnaryOperator<InputConfig> change) {
        return Params.withComponent(this, "input", change.apply(input));
    }

    public JobConfig withEvaluation(UnaryOperator<EvaluationConfig> change) {
        return Params.withComponent(this, "evaluation", change.apply(evaluation));
    }

    public JobConfig withServing(UnaryOperator<ServingConfig> change) {
        return Params.withComponent(this, "serving", change.apply(serving));
    }

    public JobConfig withCheckpoints(UnaryOperator<CheckpointConfig> change) {
        return Params.withComponent(this, "checkpoints", change.apply(checkpoints));
    }

    public JobConfig withFaults(UnaryOperator<FaultConfig> change) {
        return Params.withComponent(this, "faults", change.apply(faults));
    }

    // ---------------------------------------------------------------- parsing

    /** The section as the arguments say, or null with its problems added to {@code errors}. */
    private static <R extends Record> R section(
            Class<R> type,
            List<Param<?>> params,
            Map<String, String> arguments,
            List<String> errors) {
        List<String> unreadable = new ArrayList<>();
        Map<Param<?>, Object> values = Params.parse(params, arguments, unreadable);
        if (!unreadable.isEmpty()) {
            errors.addAll(unreadable);
            return null;
        }
        try {
            return Params.create(type, params, values);
        } catch (IllegalArgumentException e) {
            errors.add(e.getMessage().replaceFirst("^invalid [^:]*: ", ""));
            return null;
        }
    }

    private static int vocabularySize(String vocabulary) {
        try {
            return Vocabulary.named(vocabulary).size();
        } catch (IOException e) {
            throw new IllegalArgumentException(
                    "cannot read the vocabulary " + vocabulary + ": " + e.getMessage(), e);
        }
    }
}
