package io.streamgpt.cli.bench;

import io.streamgpt.cli.Paths;
import io.streamgpt.model.Gpt;
import io.streamgpt.model.GptConfig;
import io.streamgpt.model.TokenCorpus;
import io.streamgpt.model.TorchRuntime;
import io.streamgpt.model.Trainer;
import io.streamgpt.model.TrainingConfig;
import io.streamgpt.model.Vocabulary;

import ai.djl.Device;
import ai.djl.pytorch.jni.JniUtils;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Profiles training steps of one preset with libtorch's autograd profiler (a Chrome trace per
 * step), after warm-up steps: where the time of a step goes, op by op, forward and backward. See
 * docs/model-performance.md; {@code docs/profile_summary.py} sums the trace by op.
 *
 * <p>usage: {@code java -cp ... io.streamgpt.cli.StepProfile PRESET THREADS WARMUP STEPS OUT_PREFIX
 * [CORPUS]}
 */
final class StepProfile {

    /** CPU time of the calling thread: at one thread libtorch runs every op on it. */
    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

    private StepProfile() {}

    public static void main(String[] args) throws Exception {
        String preset = args[0];
        int threads = Integer.parseInt(args[1]);
        int warmup = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        String out = args[4];
        Path corpusFile = args.length > 5 ? Path.of(args[5]) : Paths.shakespeare();
        TorchRuntime.configure(threads);
        String text = Files.readString(corpusFile, StandardCharsets.UTF_8);
        Vocabulary vocabulary = Vocabulary.ofText(text);
        TokenCorpus corpus = TokenCorpus.of(vocabulary.encode(text));
        GptConfig config = GptConfig.preset(preset, vocabulary.size());
        TrainingConfig training = TrainingConfig.preset(preset);
        try (Gpt model = Gpt.create(config, training.seed(), Device.cpu());
                Trainer trainer = new Trainer(model, training)) {
            Random random = new Random(training.seed());
            for (int i = 0; i < warmup + steps; i++) {
                TokenCorpus.Batch batch =
                        corpus.sample(
                                TokenCorpus.Split.TRAIN,
                                random,
                                training.batchSize(),
                                config.blockSize());
                boolean profiled = i >= warmup && !out.equals("-");
                if (profiled) {
                    JniUtils.startProfile(false, true, false);
                }
                long t0 = System.nanoTime();
                long c0 = CPU.getCurrentThreadCpuTime();
                float loss = trainer.step(batch);
                double ms = (System.nanoTime() - t0) / 1e6;
                double cpuMs = (CPU.getCurrentThreadCpuTime() - c0) / 1e6;
                if (profiled) {
                    JniUtils.stopProfile(out + "-" + (i - warmup) + ".json");
                }
                System.out.printf(
                        "{\"step\": %d, \"profiled\": %b, \"ms\": %.1f, \"cpu_ms\": %.1f, \"loss\":"
                                + " %.4f}%n",
                        i, profiled, ms, cpuMs, loss);
            }
        }
    }
}
