package io.streamgpt.cli.bench;

import io.streamgpt.cli.Paths;
import io.streamgpt.model.Generator;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.Sampler;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.Trainer;
import io.streamgpt.model.TrainingConfig;
import io.streamgpt.model.Vocabulary;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

/** Benchmarks that print one JSON object: where the speed targets of the project are checked. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks printing one JSON object on stdout.",
        subcommands = {
            BenchCommand.ModelBench.class,
            PipelineBench.class,
            SoakBench.class,
            SyncBench.class,
            DdpBench.class,
            DriftBench.class
        })
public final class BenchCommand implements Runnable {

    @Spec CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Step time of the bare model loop, generation speed with and without the KV cache. */
    @Command(
            name = "model",
            mixinStandardHelpOptions = true,
            description = "Training step time (cpu and reference presets) and generation speed.")
    static final class ModelBench implements Callable<Integer> {

        private static final ObjectMapper JSON = new ObjectMapper();

        @Spec CommandSpec spec;

        @Option(
                names = "--threads",
                description = "libtorch intra-op threads (default: all cores).")
        Integer threads;

        @Option(
                names = "--steps",
                defaultValue = "30",
                description = "Measured cpu-preset steps. Default: ${DEFAULT-VALUE}.")
        int steps;

        @Option(
                names = "--warmup",
                defaultValue = "5",
                description = "Unmeasured steps first. Default: ${DEFAULT-VALUE}.")
        int warmup;

        @Option(
                names = "--reference-steps",
                defaultValue = "2",
                description =
                        "Measured reference-preset steps (after one warm-up); 0 skips them."
                                + " Default: ${DEFAULT-VALUE}.")
        int referenceSteps;

        @Option(
                names = "--gen-tokens",
                defaultValue = "500",
                description = "Tokens generated per path. Default: ${DEFAULT-VALUE}.")
        int genTokens;

        @Option(
                names = "--data",
                description = "Corpus for batches (default: the bundled tiny Shakespeare).")
        Path data;

        @Option(
                names = "--pytorch-reference",
                description =
                        "Path of gpt_reference.py: also time the original PyTorch code (cpu and"
                                + " reference presets, generation) at each --compare-threads, in"
                                + " this run.")
        Path pytorchReference;

        @Option(
                names = "--compare-threads",
                split = ",",
                defaultValue = "1,2",
                description =
                        "Thread counts of the --pytorch-reference comparison. Default:"
                                + " ${DEFAULT-VALUE}.")
        List<Integer> compareThreads;

        @Option(
                names = "--python",
                defaultValue = "/usr/bin/python3",
                description =
                        "Python with torch, for --pytorch-reference. Default: ${DEFAULT-VALUE}.")
        String python;

        @Override
        public Integer call() throws Exception {
            if (steps < 1 || warmup < 0 || referenceSteps < 0 || genTokens < 1) {
                throw new IllegalArgumentException(
                        "--steps and --gen-tokens must be >= 1, --warmup and --reference-steps >="
                                + " 0");
            }
            int threadCount =
                    threads != null ? threads : Runtime.getRuntime().availableProcessors();
            TorchRuntime.configure(threadCount);
            Path corpusFile = data != null ? data : Paths.shakespeare();
            String text = Files.readString(corpusFile, StandardCharsets.UTF_8);
            Vocabulary vocabulary = Vocabulary.ofText(text);
            TokenCorpus corpus = TokenCorpus.of(vocabulary.encode(text));

            ObjectNode result = JSON.createObjectNode();
            GptConfig reference = GptConfig.preset("reference", vocabulary.size());
            GptConfig cpu = GptConfig.preset("cpu", vocabulary.size());
            TrainingConfig referenceTraining = TrainingConfig.preset("reference");
            TrainingConfig cpuTraining = TrainingConfig.preset("cpu");
            result.put("reference_params", io.streamgpt.model.ParameterLayout.of(reference).size());
            result.put("threads", TorchRuntime.threads());

            double[] cpuMs = stepTimes(cpu, cpuTraining, corpus, warmup, steps);
            result.put("cpu_ms_per_step", round(median(cpuMs)));
            result.put("cpu_ms_per_step_mean", round(Arrays.stream(cpuMs).average().orElseThrow()));
            result.put(
                    "cpu_tokens_per_s",
                    round(cpuTraining.batchSize() * cpu.blockSize() / (median(cpuMs) / 1000)));
            if (referenceSteps > 0) {
                result.put(
                        "reference_ms_per_step",
                        round(
                                median(
                                        stepTimes(
                                                reference,
                                                referenceTraining,
                                                corpus,
                                                1,
                                                referenceSteps))));
            }

            // The KV cache pays off with long contexts and wide layers: the reference preset is the
            // model it is for. The cpu preset (block 64, 128 wide) is reported too.
            putGenerationSpeed(result, "", reference);
            putGenerationSpeed(result, "cpu_", cpu);
            if (pytorchReference != null) {
                PytorchReference pytorch =
                        new PytorchReference(python, pytorchReference, corpusFile);
                TorchBlas blas = pytorch.blas();
                if (blas.reference()) {
                    spec.commandLine().getErr().println(blas.warning());
                }
                // both implementations, both presets, each thread count, interleaved in this run
                ObjectNode vsPytorch =
                        new ReferenceComparison(pytorch, corpus, cpu, reference)
                                .run(compareThreads, warmup, steps, referenceSteps, genTokens);
                vsPytorch.put("pytorch_blas", blas.describe());
                result.set("vs_pytorch", vsPytorch);
                JsonNode same = result.get("vs_pytorch").get("threads_" + threadCount);
                if (same != null) { // the keys of earlier versions: this run's thread count
                    double pytorchMs = same.get("pytorch_cpu_ms_per_step").asDouble();
                    result.put("pytorch_cpu_ms_per_step", pytorchMs);
                    result.put(
                            "pytorch_version",
                            result.get("vs_pytorch").get("pytorch_version").asText());
                    result.put("cpu_speed_vs_pytorch", round(pytorchMs / median(cpuMs)));
                }
            }
            spec.commandLine().getOut().println(JSON.writeValueAsString(result));
            return 0;
        }

        static double[] stepTimes(
                GptConfig config,
                TrainingConfig training,
                TokenCorpus corpus,
                int warmup,
                int measured) {
            try (Gpt model = Gpt.create(config, training.seed(), Device.cpu());
                    Trainer trainer = new Trainer(model, training)) {
                Random random = new Random(training.seed());
                double[] ms = new double[measured];
                for (int i = 0; i < warmup + measured; i++) {
                    TokenCorpus.Batch batch =
                            corpus.sample(
                                    TokenCorpus.Split.TRAIN,
                                    random,
                                    training.batchSize(),
                                    config.blockSize());
                    long t0 = System.nanoTime();
                    trainer.step(batch);
                    if (i >= warmup) {
                        ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
                    }
                }
                return ms;
            }
        }

        private void putGenerationSpeed(ObjectNode result, String prefix, GptConfig config) {
            try (Gpt model = Gpt.create(config, 1337, Device.cpu())) {
                Generator generator = new Generator(model);
                generator.generate(new int[] {0}, 20, Sampler.multinomial(1), true); // warm-up
                double kv = generationSpeed(generator, true);
                double full = generationSpeed(generator, false);
                result.put(prefix + "gen_tokens_per_s_kv", round(kv));
                result.put(prefix + "gen_tokens_per_s_full", round(full));
                result.put(prefix + "gen_kv_speedup", round(kv / full));
            }
        }

        private double generationSpeed(Generator generator, boolean kvCache) {
            long t0 = System.nanoTime();
            generator.generate(new int[] {0}, genTokens, Sampler.multinomial(1), kvCache);
            return genTokens / ((System.nanoTime() - t0) / 1e9);
        }

        static double median(double[] values) {
            double[] sorted = values.clone();
            Arrays.sort(sorted);
            int n = sorted.length;
            return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        }

        static double round(double value) {
            return Math.round(value * 100) / 100.0;
        }
    }
}
