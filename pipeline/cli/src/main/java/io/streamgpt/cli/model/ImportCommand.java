package io.streamgpt.cli.model;

import io.streamgpt.model.ModelFile;
import io.streamgpt.model.SafetensorsModel;
import io.streamgpt.model.Vocabulary;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Brings a model trained elsewhere into streamgpt: a safetensors file of the PyTorch reference's
 * {@code state_dict()} (gpt_reference.py's names, or Karpathy's gpt.py's) or of {@code export
 * --format safetensors}, written as a model file that {@code generate --model} loads. A file
 * without streamgpt's metadata has no vocabulary and no dropout in it: they come from the options,
 * and the shape from the tensors.
 */
@Command(
        name = "import",
        mixinStandardHelpOptions = true,
        description =
                "Read a safetensors file (the PyTorch reference's state_dict, or streamgpt's"
                        + " export) into a model file.")
public final class ImportCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(
            names = "--from",
            required = true,
            description =
                    "safetensors file: save_file(model.state_dict(), ...) of gpt_reference.py or"
                            + " gpt.py, or `export --format safetensors`.")
    Path from;

    @Option(
            names = "--out",
            required = true,
            description = "Model file to write (atomically, with a checksum).")
    Path out;

    @Option(
            names = "--vocab",
            defaultValue = "shakespeare",
            description =
                    "Vocabulary when the file's metadata names none: shakespeare, bytes or the"
                            + " corpus file the model was trained on (the reference's"
                            + " vocabulary is sorted(set(text))). Default: ${DEFAULT-VALUE}.")
    String vocab;

    @Option(
            names = "--dropout",
            defaultValue = "0.0",
            description =
                    "Dropout of the model when the file's metadata has no config (a state_dict"
                            + " has none). Default: ${DEFAULT-VALUE}.")
    double dropout;

    @Override
    public Integer call() throws Exception {
        ModelFile.Contents model;
        try {
            model = SafetensorsModel.load(from, Vocabulary.named(vocab), dropout);
        } catch (IOException e) { // unreadable or not safetensors: bad input, one line
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        Map<String, Object> lineage;
        try {
            lineage = SafetensorsModel.lineage(from); // export's, carried over; empty otherwise
        } catch (IOException e) {
            // the parameters are what an import is for: a bad lineage entry only loses the history
            spec.commandLine()
                    .getErr()
                    .println(
                            "warning: "
                                    + from
                                    + ": its lineage metadata is not JSON, imported without it: "
                                    + e.getMessage());
            lineage = Map.of();
        }
        ModelFile.save(out, model, lineage);
        spec.commandLine()
                .getOut()
                .printf(
                        Locale.ROOT,
                        "imported %s (%d layers, %d heads, n_embd %d, block %d, vocabulary %d,"
                                + " step %d, %,d parameters) to %s%n",
                        from,
                        model.config().nLayer(),
                        model.config().nHead(),
                        model.config().nEmbd(),
                        model.config().blockSize(),
                        model.config().vocabSize(),
                        model.step(),
                        model.parameters().length,
                        out);
        if (!lineage.isEmpty()) {
            spec.commandLine()
                    .getOut()
                    .println(
                            lineage.containsKey("tokens")
                                    ? ExportLineage.describe(lineage)
                                    : "lineage: the file names its version only (generation "
                                            + lineage.get("generation")
                                            + ", round "
                                            + lineage.get("round")
                                            + ")");
        }
        return 0;
    }
}
