package io.streamgpt.cli.bench;

import io.streamgpt.model.Generator;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.Sampler;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.Trainer;
import io.streamgpt.model.TrainingConfig;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Random;

/**
 * streamgpt next to the PyTorch reference in one run, interleaved (streamgpt, then PyTorch, per
 * preset and thread count) so that both see the same machine load: step time of the cpu and the
 * reference presets at each thread count, and generation speed of the reference preset. Ratios are
 * streamgpt's time over PyTorch's (below 1: streamgpt is faster); CPU-time ratios are given too,
 * since wall time on a shared machine mostly measures the neighbours.
 */
final class ReferenceComparison {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final PytorchReference pytorch;
    private final TokenCorpus corpus;
    private final GptConfig cpu;
    private final GptConfig reference;

    ReferenceComparison(
            PytorchReference pytorch, TokenCorpus corpus, GptConfig cpu, GptConfig reference) {
        this.pytorch = pytorch;
        this.corpus = corpus;
        this.cpu = cpu;
        this.reference = reference;
    }

    /**
     * For each thread count: cpu preset ({@code warmup} + {@code steps} steps), reference preset
     * (one warm-up + {@code referenceSteps}); generation of {@code genTokens} tokens at the first
     * thread count.
     */
    ObjectNode run(
            List<Integer> threadCounts, int warmup, int steps, int referenceSteps, int genTokens)
            throws IOException, InterruptedException {
        ObjectNode result = JSON.createObjectNode();
        String torchVersion = null;
        double pytorchBestReferenceMs = Double.MAX_VALUE;
        for (int threads : threadCounts) {
            TorchRuntime.configure(threads);
            ObjectNode entry = result.putObject("threads_" + threads);
            entry.put("load_before", load());
            Times sgCpu = stepTimes(cpu, TrainingConfig.preset("cpu"), warmup, steps);
            JsonNode pyCpu = pytorch.run(PytorchReference.CPU_PRESET, threads, warmup, steps, 0);
            torchVersion = pyCpu.get("torch").asText();
            put(entry, "cpu", sgCpu, pyCpu);
            if (referenceSteps > 0) {
                Times sgRef =
                        stepTimes(reference, TrainingConfig.preset("reference"), 1, referenceSteps);
                JsonNode pyRef =
                        pytorch.run(
                                PytorchReference.REFERENCE_PRESET, threads, 1, referenceSteps, 0);
                put(entry, "reference", sgRef, pyRef);
                pytorchBestReferenceMs =
                        Math.min(pytorchBestReferenceMs, pyRef.get("ms_per_step").asDouble());
            }
            entry.put("load_after", load());
        }
        if (referenceSteps > 0) {
            int last = threadCounts.get(threadCounts.size() - 1);
            double sgMs = result.get("threads_" + last).get("reference_ms_per_step").asDouble();
            result.put("reference_ms_vs_pytorch_best", round(sgMs / pytorchBestReferenceMs));
            result.put("reference_ms_vs_pytorch_best_threads", last);
        }
        if (genTokens > 0) {
            int threads = threadCounts.get(0);
            TorchRuntime.configure(threads);
            ObjectNode gen = result.putObject("generation_reference_preset");
            gen.put("threads", threads);
            gen.put("tokens", genTokens);
            gen.put("streamgpt_kv_tokens_per_s", round(generationSpeed(genTokens, true)));
            gen.put("streamgpt_full_tokens_per_s", round(generationSpeed(genTokens, false)));
            JsonNode py = pytorch.run(PytorchReference.REFERENCE_PRESET, threads, 0, 0, genTokens);
            double pyTokens = py.get("gen_tokens_per_s").asDouble();
            gen.put("pytorch_tokens_per_s", round(pyTokens));
            gen.put(
                    "kv_speed_vs_pytorch",
                    round(gen.get("streamgpt_kv_tokens_per_s").asDouble() / pyTokens));
        }
        result.put("pytorch_version", torchVersion);
        return result;
    }

    private static void put(ObjectNode entry, String preset, Times sg, JsonNode py) {
        double pyMs = py.get("ms_per_step").asDouble();
        double pyCpuMs = py.get("cpu_ms_per_step").asDouble();
        entry.put(preset + "_ms_per_step", round(sg.wallMs));
        entry.put(preset + "_cpu_time_ms_per_step", round(sg.cpuMs));
        entry.put("pytorch_" + preset + "_ms_per_step", round(pyMs));
        entry.put("pytorch_" + preset + "_cpu_time_ms_per_step", round(pyCpuMs));
        entry.put(preset + "_ms_vs_pytorch", round(sg.wallMs / pyMs));
        entry.put(preset + "_cpu_time_vs_pytorch", round(sg.cpuMs / pyCpuMs));
    }

    /** Median wall and mean process-CPU milliseconds of the measured steps. */
    private record Times(double wallMs, double cpuMs) {}

    private Times stepTimes(GptConfig config, TrainingConfig training, int warmup, int measured) {
        try (Gpt model = Gpt.create(config, training.seed(), Device.cpu());
                Trainer trainer = new Trainer(model, training)) {
            Random random = new Random(training.seed());
            double[] wall = new double[measured];
            double[] cpuTime = new double[measured];
            for (int i = 0; i < warmup + measured; i++) {
                TokenCorpus.Batch batch =
                        corpus.sample(
                                TokenCorpus.Split.TRAIN,
                                random,
                                training.batchSize(),
                                config.blockSize());
                long t0 = System.nanoTime();
                long c0 = processCpuNanos();
                trainer.step(batch);
                if (i >= warmup) {
                    wall[i - warmup] = (System.nanoTime() - t0) / 1e6;
                    cpuTime[i - warmup] = (processCpuNanos() - c0) / 1e6;
                }
            }
            // the process CPU clock ticks in 10 ms here: the mean over the steps, not a median
            return new Times(
                    BenchCommand.ModelBench.median(wall),
                    java.util.Arrays.stream(cpuTime).average().orElseThrow());
        }
    }

    private double generationSpeed(int tokens, boolean kvCache) {
        try (Gpt model = Gpt.create(reference, 1337, Device.cpu())) {
            Generator generator = new Generator(model);
            generator.generate(new int[] {0}, 20, Sampler.multinomial(1), kvCache); // warm-up
            long t0 = System.nanoTime();
            generator.generate(new int[] {0}, tokens, Sampler.multinomial(1), kvCache);
            return tokens / ((System.nanoTime() - t0) / 1e9);
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static double load() {
        return round(ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static double round(double value) {
        return BenchCommand.ModelBench.round(value);
    }
}
