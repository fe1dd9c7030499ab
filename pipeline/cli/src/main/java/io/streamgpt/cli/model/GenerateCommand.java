package io.streamgpt.cli.model;

import io.streamgpt.cli.KafkaOptions;
import io.streamgpt.cli.ParamOptions;
import io.streamgpt.connectors.client.PromptClient;
import io.streamgpt.connectors.records.PromptRequest;
import io.streamgpt.connectors.records.Reports;
import io.streamgpt.job.config.TopicsConfig;
import io.streamgpt.model.Generator;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.ModelHost;
import io.streamgpt.model.Sampler;
import io.streamgpt.model.Vocabulary;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * Continues a prompt: with {@code --model}, offline from a model file, printing the text as it is
 * generated; without it, by the live model of the running job, through the prompts and answers
 * topics.
 */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        modelTransformer = GenerateCommand.Options.class,
        description =
                "Generate text from a model file (--model), or from the running job's live model.")
public final class GenerateCommand implements Callable<Integer> {

    /** The job's Kafka and the topics this command reads or writes. */
    public static final class Options extends KafkaOptions {
        public Options() {
            super(TopicsConfig.PROMPTS, TopicsConfig.ANSWERS);
        }
    }

    @Spec CommandSpec spec;

    @Option(
            names = "--model",
            description = "Model file written by train or export (default: ask the running job).")
    Path modelFile;

    @Option(
            names = "--timeout",
            defaultValue = "60",
            description = "Seconds to wait for the job's answer. Default: ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Option(
            names = "--prompt",
            defaultValue = "",
            description = "Text to continue (default: none, starts from token 0).")
    String prompt;

    @Option(
            names = "--tokens",
            defaultValue = "500",
            description = "Tokens to generate. Default: ${DEFAULT-VALUE}.")
    int tokens;

    @Option(
            names = "--temperature",
            defaultValue = "1.0",
            description =
                    "Sampling temperature; 0 is greedy (with --model; the job takes (0, 2])."
                            + " Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(
            names = "--top-k",
            defaultValue = "0",
            description =
                    "Sample among the k most likely tokens; 0 is all. Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(
            names = "--seed",
            defaultValue = "1337",
            description = "Seed of the sampler. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(
            names = "--no-kv-cache",
            description =
                    "Recompute the whole context for every token, as the reference does (with"
                            + " --model).")
    boolean noKvCache;

    @Option(
            names = "--threads",
            defaultValue = "1",
            description =
                    "libtorch intra-op threads. Token-by-token generation is fastest on one."
                            + " Default: ${DEFAULT-VALUE}.")
    int threads;

    @Override
    public Integer call() throws Exception {
        if (modelFile == null) {
            return askTheJob();
        }
        if (tokens < 0) {
            throw new IllegalArgumentException("--tokens must be >= 0, got " + tokens);
        }
        Sampler sampler = new Sampler(temperature, topK, seed);
        ModelFile.Contents contents = load(modelFile);
        Vocabulary vocabulary = contents.vocabulary();
        int[] promptIds = vocabulary.encode(prompt);
        if (vocabulary.unknownCharacters() > 0) {
            spec.commandLine()
                    .getErr()
                    .printf(
                            "streamgpt: %d prompt characters are not in the model's vocabulary and"
                                    + " were skipped%n",
                            vocabulary.unknownCharacters());
        }
        ModelHost host = ModelHost.local(threads);
        PrintWriter out = spec.commandLine().getOut();
        out.print(prompt);
        try (Gpt gpt = host.load(contents.config(), contents.parameters())) {
            TokenPrinter printer = new TokenPrinter(vocabulary, out);
            new Generator(gpt).generate(promptIds, tokens, sampler, !noKvCache, printer);
            printer.finish();
        }
        out.println();
        return 0;
    }

    /** Sends the prompt to the job's prompts topic and prints the answer with that request's id. */
    private int askTheJob() throws InterruptedException {
        if (timeoutSeconds < 1 || timeoutSeconds * 1000 > PromptRequest.MAX_TIMEOUT_MS) {
            throw new IllegalArgumentException(
                    "--timeout must be in [1, "
                            + PromptRequest.MAX_TIMEOUT_MS / 1000
                            + "] seconds, got "
                            + timeoutSeconds);
        }
        PromptRequest request =
                new PromptRequest(
                        UUID.randomUUID().toString(),
                        prompt,
                        tokens,
                        temperature,
                        topK,
                        seed,
                        timeoutSeconds * 1000);
        PrintWriter err = spec.commandLine().getErr();
        Reports.Answer answer;
        try (PromptClient client =
                new PromptClient(
                        KafkaOptions.settings(spec),
                        ParamOptions.value(spec, TopicsConfig.PROMPTS),
                        ParamOptions.value(spec, TopicsConfig.ANSWERS),
                        Duration.ofSeconds(Math.min(10, timeoutSeconds)))) {
            // the client fails the answer with a TimeoutException after the request's timeout_ms;
            // Kafka unreachable or no topic propagate, for Failures to name the flag
            answer = client.ask(request).get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TimeoutException)) {
                err.println("streamgpt: " + e.getCause().getMessage());
                return 1;
            }
            err.printf(
                    "streamgpt: no answer within %d s: is a streamgpt job running on %s, reading"
                            + " prompts from %s?%n",
                    timeoutSeconds,
                    KafkaOptions.settings(spec),
                    ParamOptions.value(spec, TopicsConfig.PROMPTS));
            return 1;
        }
        if (answer.error() != null) {
            err.println(
                    "streamgpt: the job did not answer: "
                            + answer.error()
                            + (Reports.Answer.NO_MODEL.equals(answer.error())
                                    ? " (the job publishes its first model after --sync-every"
                                            + " steps; try again shortly)"
                                    : ""));
            return 1;
        }
        if (answer.unknownCharacters() != null && answer.unknownCharacters() > 0) {
            err.printf(
                    "streamgpt: %d prompt characters are not in the model's vocabulary and were"
                            + " skipped%n",
                    answer.unknownCharacters());
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(prompt + answer.text());
        err.printf(
                "streamgpt: answered by the live model of round %d (step %d)%n",
                answer.modelRound(), answer.step());
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
                out.print(
                        new String(pending.toByteArray(), java.nio.charset.StandardCharsets.UTF_8));
                pending.reset();
            }
        }
    }
}
