package io.streamgpt.cli;

import io.streamgpt.model.Generator;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.Sampler;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.Vocabulary;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Continues a prompt with a saved model, printing the text as it is generated. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a model file.")
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Model file written by train.")
    Path modelFile;

    @Option(names = "--prompt", defaultValue = "", description = "Text to continue (default: none, starts from token 0).")
    String prompt;

    @Option(names = "--tokens", defaultValue = "500", description = "Tokens to generate. Default: ${DEFAULT-VALUE}.")
    int tokens;

    @Option(names = "--temperature", defaultValue = "1.0", description = "Sampling temperature; 0 is greedy. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Sample among the k most likely tokens; 0 is all. Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--seed", defaultValue = "1337", description = "Seed of the sampler. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--no-kv-cache", description = "Recompute the whole context for every token, as the reference does.")
    boolean noKvCache;

    @Option(names = "--threads", defaultValue = "1",
            description = "libtorch intra-op threads. Token-by-token generation is fastest on one. Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() throws Exception {
        if (tokens < 0) {
            throw new IllegalArgumentException("--tokens must be >= 0, got " + tokens);
        }
        Sampler sampler = new Sampler(temperature, topK, seed);
        ModelFile.Contents contents = load(modelFile);
        Vocabulary vocabulary = contents.vocabulary();
        int[] promptIds = vocabulary.encode(prompt);
        if (vocabulary.unknownCharacters() > 0) {
            spec.commandLine().getErr().printf("streamgpt: %d prompt characters are not in the model's vocabulary and were skipped%n",
                    vocabulary.unknownCharacters());
        }
        TorchRuntime.configure(threads);
        PrintWriter out = spec.commandLine().getOut();
        out.print(prompt);
        try (Gpt gpt = Gpt.withParameters(contents.config(), contents.parameters(),
                TorchRuntime.deviceFor(0, java.util.OptionalInt.empty(), TorchRuntime.visibleGpus()))) {
            TokenPrinter printer = new TokenPrinter(vocabulary, out);
            new Generator(gpt).generate(promptIds, tokens, sampler, !noKvCache, printer);
            printer.finish();
        }
        out.println();
        return 0;
    }

    /** A missing, damaged or foreign model file is bad input: one line, exit code 2. */
    private static ModelFile.Contents load(Path file) {
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new IllegalArgumentException("no model file " + file);
        }
        try {
            return ModelFile.load(file);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot load the model: " + e.getMessage(), e);
        }
    }

    /** Prints tokens as they come; byte vocabularies wait for whole UTF-8 characters. */
    private static final class TokenPrinter implements java.util.function.IntConsumer {
        private final Vocabulary vocabulary;
        private final PrintWriter out;
        private final java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();

        TokenPrinter(Vocabulary vocabulary, PrintWriter out) {
            this.vocabulary = vocabulary;
            this.out = out;
        }

        @Override
        public void accept(int token) {
            if (vocabulary.kind() == Vocabulary.Kind.CHARS) {
                out.print(vocabulary.decode(new int[] {token}));
            } else {
                pending.write(token);
                if (pending.size() >= utf8Length(pending.toByteArray()[0] & 0xff)) {
                    finish();
                }
            }
            out.flush();
        }

        /** Bytes of the UTF-8 sequence that {@code lead} starts; 1 for a stray byte. */
        private static int utf8Length(int lead) {
            if (lead >= 0xF0 && lead <= 0xF7) {
                return 4;
            }
            if (lead >= 0xE0) {
                return lead <= 0xEF ? 3 : 1;
            }
            return lead >= 0xC0 ? 2 : 1;
        }

        void finish() {
            if (pending.size() > 0) {
                out.print(new String(pending.toByteArray(), java.nio.charset.StandardCharsets.UTF_8));
                pending.reset();
            }
        }
    }
}
