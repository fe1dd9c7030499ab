package io.streamgpt.cli.model;

import io.streamgpt.cli.CliRun;
import io.streamgpt.cli.JobArgs;
import io.streamgpt.model.HeldOutLoss;
import io.streamgpt.model.ModelFile;
import io.streamgpt.model.TokenCorpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * {@code eval} reproduces the losses {@code train} printed at its last step, on the same batches,
 * and PyTorch computes the same loss from the model file.
 */
class EvalCommandTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] TINY =
            JobArgs.tinyModel("--preset", "cpu", "--learning-rate", "3e-3", "--threads", "1");

    @TempDir static Path dir;
    static Path corpus;
    static Path model;
    static String trainOut;

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** 60 steps on 40 copies of two lines (3,240 characters: 2,916 train, 324 val). */
    @BeforeAll
    static void train() throws Exception {
        String verse =
                "Shall I compare thee to a summer's day?\n"
                        + "Thou art more lovely and more temperate.\n";
        corpus = Files.writeString(dir.resolve("sonnet.txt"), verse.repeat(40));
        model = dir.resolve("model.bin");
        trainOut =
                CliRun.of(
                                concat(
                                        new String[] {
                                            "train",
                                            "--data",
                                            corpus.toString(),
                                            "--max-steps",
                                            "60",
                                            "--eval-interval",
                                            "30",
                                            "--eval-iters",
                                            "4",
                                            "--out",
                                            model.toString(),
                                            "--sample-tokens",
                                            "0",
                                            "--no-progress"
                                        },
                                        TINY))
                        .successfulOut();
    }

    private static JsonNode eval(String split) throws Exception {
        String out =
                CliRun.of(
                                "eval",
                                "--model",
                                model.toString(),
                                "--data",
                                corpus.toString(),
                                "--split",
                                split,
                                "--eval-iters",
                                "4",
                                "--batch-size",
                                "8",
                                "--threads",
                                "1")
                        .successfulOut();
        return JSON.readTree(out.strip());
    }

    @Test
    void evalOfTheSavedModelPrintsTheLossesTrainPrintedAtItsLastStep() throws Exception {
        Matcher last =
                Pattern.compile("step 60: train loss ([0-9.]+), val loss ([0-9.]+)")
                        .matcher(trainOut);
        assertThat(last.find()).as(trainOut).isTrue();

        JsonNode val = eval("val");
        JsonNode train = eval("train");

        // train prints 4 decimals: the same batches give the same loss to that precision
        assertThat(String.format(java.util.Locale.ROOT, "%.4f", val.get("loss").asDouble()))
                .isEqualTo(last.group(2));
        assertThat(String.format(java.util.Locale.ROOT, "%.4f", train.get("loss").asDouble()))
                .isEqualTo(last.group(1));
        assertThat(val.get("tokens").asLong()).isEqualTo(324); // 3,240 - int(0.9 * 3,240)
        assertThat(val.get("model_step").asLong()).isEqualTo(60);
        assertThat(val.get("bits_per_char").asDouble())
                .isCloseTo(val.get("loss").asDouble() / Math.log(2), within(1e-9));
    }

    @Test
    void pytorchComputesTheSameValLossFromTheModelFile() throws Exception {
        Process probe =
                new ProcessBuilder("/usr/bin/python3", "-c", "import torch")
                        .redirectErrorStream(true)
                        .start();
        assumeThat(probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0)
                .as("python3 with torch (Debian python3-torch)")
                .isTrue();

        // the very batches eval draws: 4 x 8 windows of the val split, from the val seed
        ModelFile.Contents contents = ModelFile.load(model);
        TokenCorpus tokens =
                TokenCorpus.of(
                        contents.vocabulary()
                                .encode(Files.readString(corpus, StandardCharsets.UTF_8)));
        Random random = new Random(HeldOutLoss.seedFor(1337, TokenCorpus.Split.VAL));
        ArrayNode batches = JSON.createArrayNode();
        for (int i = 0; i < 4; i++) {
            TokenCorpus.Batch b = tokens.sample(TokenCorpus.Split.VAL, random, 8, 16);
            ObjectNode node = batches.addObject();
            ArrayNode inputs = node.putArray("inputs");
            ArrayNode targets = node.putArray("targets");
            for (int row = 0; row < 8; row++) {
                ArrayNode in = inputs.addArray();
                ArrayNode out = targets.addArray();
                for (int t = 0; t < 16; t++) {
                    in.add(b.inputs()[row * 16 + t]);
                    out.add(b.targets()[row * 16 + t]);
                }
            }
        }
        Path batchFile = dir.resolve("batches.json");
        JSON.writeValue(batchFile.toFile(), batches);
        Path script = dir.resolve("eval_crosscheck.py");
        try (var in = EvalCommandTest.class.getResourceAsStream("/eval_crosscheck.py")) {
            Files.copy(in, script);
        }
        Process python =
                new ProcessBuilder(
                                "/usr/bin/python3",
                                script.toString(),
                                model.toString(),
                                batchFile.toString())
                        .redirectError(ProcessBuilder.Redirect.INHERIT)
                        .start();
        String out = new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(python.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(python.exitValue()).as(out).isZero();
        double pytorch = JSON.readTree(out.strip()).get("loss").asDouble();

        assertThat(pytorch).isCloseTo(eval("val").get("loss").asDouble(), within(1e-3));
    }

    private static org.assertj.core.data.Offset<Double> within(double d) {
        return org.assertj.core.data.Offset.offset(d);
    }
}
