package io.streamgpt.cli.model;

import io.streamgpt.cli.KafkaOptions;
import io.streamgpt.cli.ModelOptions;
import io.streamgpt.cli.ParamOptions;
import io.streamgpt.config.Param;
import io.streamgpt.config.Params;
import io.streamgpt.connectors.chunks.ModelLoopAuthenticator;
import io.streamgpt.connectors.client.LossReader;
import io.streamgpt.connectors.client.ModelMetadata;
import io.streamgpt.connectors.client.ModelMetadataTopic;
import io.streamgpt.connectors.client.ModelTopicReader;
import io.streamgpt.connectors.kafka.KafkaClientSettings;
import io.streamgpt.connectors.records.EvalRecords;
import io.streamgpt.job.config.InputConfig;
import io.streamgpt.job.config.JobConfig;
import io.streamgpt.job.config.KafkaConfig;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.ModelPreset;
import io.streamgpt.model.ParameterLayout;
import io.streamgpt.model.SafetensorsModel;
import io.streamgpt.model.Vocabulary;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Writes the newest complete global model on the model topic to a model file that {@code generate
 * --model} loads with no job running. The model topic carries parameters only; the model's shape
 * and vocabulary come from the job's metadata on the metadata topic ({@link ModelMetadataTopic}),
 * so no model options are needed. Options given anyway must match the job's model, or the export is
 * refused with one line (a wrong --n-head with the same parameter count included). Without metadata
 * (a job of an older build), the options are the only source, as before. The file also gets the
 * version's lineage from the losses topic ({@link ExportLineage}), when there is one.
 */
@Command(
        name = "export",
        mixinStandardHelpOptions = true,
        modelTransformer = ExportCommand.Options.class,
        description = "Write the newest complete model on the model topic to a model file.")
public final class ExportCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    /** The job's model shape and vocabulary, its Kafka and its model topic. */
    public static final class Options extends ParamOptions {
        public Options() {
            super(
                    List.of(
                            ModelOptions.sections().get(0),
                            new JobConfig.Section("Input", List.of(InputConfig.VOCABULARY)),
                            new JobConfig.Section("Kafka", KafkaConfig.PARAMS),
                            new JobConfig.Section(
                                    "Topics",
                                    List.of(
                                            TopicsConfig.MODEL,
                                            TopicsConfig.MODEL_SECRET,
                                            TopicsConfig.METADATA,
                                            TopicsConfig.LOSSES)),
                            new JobConfig.Section(
                                    "Synchronisation",
                                    List.of(io.streamgpt.job.config.SyncConfig.FRAGMENTS))));
        }
    }

    @Option(
            names = "--out",
            required = true,
            description = "Model file to write (atomically, with a checksum).")
    Path out;

    /** What {@code --out} is written as. */
    enum Format {
        /** streamgpt's model file, for {@code generate --model}. */
        sgpt,
        /**
         * the PyTorch reference's state_dict with streamgpt's metadata ({@link SafetensorsModel}).
         */
        safetensors
    }

    @Option(
            names = "--format",
            defaultValue = "sgpt",
            description =
                    "sgpt (streamgpt's model file) or safetensors (the PyTorch reference's"
                            + " state_dict names; config, vocabulary, step and round in its"
                            + " metadata). Default: ${DEFAULT-VALUE}.")
    Format format;

    @Option(
            names = "--timeout",
            defaultValue = "60",
            description = "Seconds to read the topic's tail. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    /**
     * Streamed fragments per whole version: the job's, from its metadata; {@code --sync-fragments}
     * only for a job without metadata (an older build), and refused when it says otherwise.
     */
    private int fragments(Optional<ModelMetadata> metadata, String modelTopic) {
        Param<Integer> option = io.streamgpt.job.config.SyncConfig.FRAGMENTS;
        boolean given = !ParamOptions.arguments(spec, List.of(option)).isEmpty();
        int asked = ParamOptions.value(spec, option);
        if (metadata.isEmpty()) {
            return asked;
        }
        int jobs = metadata.get().fragments();
        if (given && asked != jobs) {
            throw new IllegalArgumentException(
                    "--sync-fragments "
                            + asked
                            + " does not match the job's model on "
                            + modelTopic
                            + ": its metadata says "
                            + jobs
                            + " (export needs no --sync-fragments: the metadata gives it)");
        }
        return jobs;
    }

    @Override
    public Integer call() throws Exception {
        KafkaClientSettings kafka = KafkaOptions.settings(spec);
        String modelTopic = ParamOptions.value(spec, TopicsConfig.MODEL);
        String metadataTopic = ParamOptions.value(spec, TopicsConfig.METADATA);
        List<Param<?>> modelParams = new ArrayList<>(ModelOptions.sections().get(0).params());
        modelParams.add(InputConfig.VOCABULARY);
        Map<String, String> given = ParamOptions.arguments(spec, modelParams);
        Optional<ModelMetadata> metadata;
        try {
            metadata =
                    ModelMetadataTopic.read(
                            kafka, metadataTopic, modelTopic, Duration.ofSeconds(timeoutSeconds));
        } catch (IllegalStateException e) {
            spec.commandLine().getErr().println("streamgpt: " + e.getMessage());
            return 1;
        }
        GptConfig config;
        Vocabulary vocabulary;
        if (metadata.isPresent()) {
            config = metadata.get().config();
            vocabulary = metadata.get().vocabulary();
            if (!given.isEmpty()) {
                Vocabulary givenVocabulary =
                        given.containsKey(InputConfig.VOCABULARY.name())
                                ? Vocabulary.named(given.get(InputConfig.VOCABULARY.name()))
                                : vocabulary;
                String mismatch =
                        metadata.get()
                                .mismatch(shape(given, config, givenVocabulary), givenVocabulary);
                if (mismatch != null) {
                    throw new IllegalArgumentException(
                            "the options do not match the job's model on "
                                    + modelTopic
                                    + ": "
                                    + mismatch
                                    + " (export needs no model options: the job's metadata on "
                                    + metadataTopic
                                    + " gives them)");
                }
            }
        } else if (given.isEmpty()) {
            throw new IllegalArgumentException(
                    "no model metadata for "
                            + modelTopic
                            + " on "
                            + metadataTopic
                            + " (a job of an older build?): pass the job's --preset, --n-layer,"
                            + " --n-head, --n-embd, --block-size and --vocab");
        } else {
            vocabulary = Vocabulary.named(ParamOptions.value(spec, InputConfig.VOCABULARY));
            config =
                    ModelPreset.choose(
                                    ParamOptions.arguments(
                                            spec, ModelOptions.sections().get(0).params()),
                                    vocabulary.size())
                            .shape();
        }
        long expected = ParameterLayout.of(config).size();
        // only chunks signed with the job's key count, and the array is sized from the options
        ModelLoopAuthenticator verifier =
                ModelLoopAuthenticator.fromSecret(
                        ParamOptions.value(spec, TopicsConfig.MODEL_SECRET));
        int fragments = fragments(metadata, modelTopic); // refused here, not as a size mismatch
        ModelTopicReader.Newest newest;
        try {
            newest =
                    ModelTopicReader.newest(
                            kafka,
                            modelTopic,
                            verifier,
                            Math.toIntExact(expected),
                            fragments,
                            Duration.ofSeconds(timeoutSeconds));
        } catch (IllegalStateException e) {
            spec.commandLine().getErr().println("streamgpt: " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "%s; its model (metadata or options) has %,d: was the topic written"
                                    + " by another job?",
                            e.getMessage(),
                            expected),
                    e);
        }
        ModelFile.Contents model =
                new ModelFile.Contents(config, vocabulary, newest.parameters(), newest.step());
        String lossesTopic = ParamOptions.value(spec, TopicsConfig.LOSSES);
        Optional<EvalRecords.Lineage> lineage;
        try { // the lineage is a bonus: a model is exported without it
            lineage =
                    LossReader.lineageOf(
                            kafka,
                            lossesTopic,
                            newest.version(),
                            Duration.ofSeconds(timeoutSeconds));
        } catch (IllegalStateException e) {
            spec.commandLine()
                    .getErr()
                    .println("streamgpt: no lineage from " + lossesTopic + ": " + e.getMessage());
            lineage = Optional.empty();
        }
        Map<String, Object> fileLineage = ExportLineage.of(newest, lineage.orElse(null));
        if (format == Format.safetensors) {
            SafetensorsModel.save(out, model, fileLineage);
        } else {
            ModelFile.save(out, model, fileLineage);
        }
        spec.commandLine()
                .getOut()
                .printf(
                        Locale.ROOT,
                        "exported round %d (generation %d, step %d, %,d parameters) to %s%n",
                        newest.version().round(),
                        newest.version().generation(),
                        newest.step(),
                        newest.parameters().length,
                        out);
        spec.commandLine().getOut().println(ExportLineage.describe(fileLineage));
        return 0;
    }

    /**
     * The shape the options ask for: a --preset's with the options' changes, else the job's with
     * them.
     */
    private static GptConfig shape(
            Map<String, String> given, GptConfig job, Vocabulary vocabulary) {
        if (given.containsKey(ModelPreset.PARAM.name())) {
            return ModelPreset.choose(given, vocabulary.size()).shape();
        }
        List<String> errors = new ArrayList<>();
        Map<Param<?>, Object> values = Params.values(job, GptConfig.PARAMS);
        values.putAll(Params.parse(GptConfig.PARAMS, given, errors));
        values.put(GptConfig.VOCAB_SIZE, vocabulary.size());
        Params.require("model options", errors);
        return Params.create(GptConfig.class, GptConfig.PARAMS, values);
    }
}
