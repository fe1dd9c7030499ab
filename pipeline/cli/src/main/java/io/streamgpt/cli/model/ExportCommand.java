package io.streamgpt.cli.model;

import io.streamgpt.cli.KafkaOptions;
import io.streamgpt.cli.ModelOptions;
import io.streamgpt.cli.ParamOptions;
import io.streamgpt.connectors.client.ModelTopicReader;
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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Writes the newest complete global model on the model topic to a model file that {@code generate
 * --model} loads with no job running. The topic carries parameters only, so the model's shape and
 * vocabulary come from the same options the job was started with; a parameter count that does not
 * match them is refused. (Options that leave the count unchanged, such as --n-head or a different
 * vocabulary of the same size, cannot be checked against the topic: give the job's.)
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
                            new JobConfig.Section("Topics", List.of(TopicsConfig.MODEL))));
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

    @Override
    public Integer call() throws Exception {
        Vocabulary vocabulary = Vocabulary.named(ParamOptions.value(spec, InputConfig.VOCABULARY));
        GptConfig config =
                ModelPreset.choose(
                                ParamOptions.arguments(
                                        spec, ModelOptions.sections().get(0).params()),
                                vocabulary.size())
                        .shape();
        String bootstrapServers = KafkaOptions.bootstrapServers(spec);
        String modelTopic = ParamOptions.value(spec, TopicsConfig.MODEL);
        long expected = ParameterLayout.of(config).size();
        ModelTopicReader.Newest newest;
        try {
            newest =
                    ModelTopicReader.newest(
                            bootstrapServers, modelTopic, Duration.ofSeconds(timeoutSeconds));
        } catch (IllegalStateException e) {
            spec.commandLine().getErr().println("streamgpt: " + e.getMessage());
            return 1;
        }
        if (newest.parameters().length != expected) {
            throw new IllegalArgumentException(
                    String.format(
                            Locale.ROOT,
                            "the newest model on %s has %,d parameters, the model options give %,d:"
                                + " pass the job's --preset, --n-layer, --n-embd, --block-size and"
                                + " --vocab",
                            modelTopic,
                            newest.parameters().length,
                            expected));
        }
        ModelFile.Contents model =
                new ModelFile.Contents(config, vocabulary, newest.parameters(), newest.step());
        if (format == Format.safetensors) {
            SafetensorsModel.save(
                    out,
                    model,
                    Map.of(
                            "generation", newest.version().generation(),
                            "round", newest.version().round()));
        } else {
            ModelFile.save(out, model);
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
        return 0;
    }
}
