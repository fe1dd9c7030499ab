package io.streamgpt.cli.model;

import io.streamgpt.cli.ModelOptions;
import io.streamgpt.connectors.client.ModelTopicReader;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.ParameterLayout;
import io.streamgpt.model.Vocabulary;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
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
        description = "Write the newest complete model on the model topic to a model file.")
public final class ExportCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Mixin ModelOptions model;

    @Option(
            names = "--vocab",
            defaultValue = "shakespeare",
            description =
                    "The job's vocabulary: shakespeare, bytes, or a corpus file. Default:"
                            + " ${DEFAULT-VALUE}.")
    String vocab;

    @Option(
            names = "--out",
            required = true,
            description = "Model file to write (atomically, with a checksum).")
    Path out;

    @Option(
            names = "--bootstrap-servers",
            defaultValue = "127.0.0.1:9092",
            description = "Kafka bootstrap servers. Default: ${DEFAULT-VALUE}.")
    String bootstrapServers;

    @Option(
            names = "--model-topic",
            defaultValue = "streamgpt-model",
            description = "The job's model topic. Default: ${DEFAULT-VALUE}.")
    String modelTopic;

    @Option(
            names = "--timeout",
            defaultValue = "60",
            description = "Seconds to read the topic's tail. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Override
    public Integer call() throws Exception {
        Vocabulary vocabulary = Vocabulary.named(vocab);
        GptConfig config = model.toConfig(vocabulary.size());
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
                            java.util.Locale.ROOT,
                            "the newest model on %s has %,d parameters, the model options give %,d:"
                                + " pass the job's --preset, --n-layer, --n-embd, --block-size and"
                                + " --vocab",
                            modelTopic,
                            newest.parameters().length,
                            expected));
        }
        ModelFile.save(
                out,
                new ModelFile.Contents(config, vocabulary, newest.parameters(), newest.step()));
        spec.commandLine()
                .getOut()
                .printf(
                        java.util.Locale.ROOT,
                        "exported round %d (generation %d, step %d, %,d parameters) to %s%n",
                        newest.round(),
                        newest.generation(),
                        newest.step(),
                        newest.parameters().length,
                        out);
        return 0;
    }
}
