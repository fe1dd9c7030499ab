package io.streamgpt.cli;

import io.streamgpt.model.ModelFile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line end to end, on real libtorch, with tiny models. */
class CommandLineTest {

    private static final String[] TINY =
            JobArgs.tinyModel("--preset", "cpu", "--learning-rate", "3e-3");

    private static Path corpus(Path dir) throws Exception {
        String verse =
                "Shall I compare thee to a summer's day?\n"
                        + "Thou art more lovely and more temperate.\n";
        return Files.writeString(dir.resolve("sonnet.txt"), verse.repeat(40));
    }

    @Test
    void trainReportsFallingLossSavesTheModelAndGenerateLoadsIt(@TempDir Path dir)
            throws Exception {
        Path model = dir.resolve("model.bin");
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "train",
                                "--data",
                                corpus(dir).toString(),
                                "--max-steps",
                                "120",
                                "--eval-interval",
                                "40",
                                "--eval-iters",
                                "4",
                                "--out",
                                model.toString(),
                                "--sample-tokens",
                                "30",
                                "--threads",
                                "1",
                                "--no-progress"));
        args.addAll(List.of(TINY));
        CliRun train = CliRun.of(args.toArray(String[]::new));
        assertThat(train.exit()).as(train.err()).isZero();

        Matcher m =
                Pattern.compile("step (\\d+): train loss ([0-9.]+), val loss ([0-9.]+)")
                        .matcher(train.out());
        List<Double> val = new ArrayList<>();
        List<Integer> steps = new ArrayList<>();
        while (m.find()) {
            steps.add(Integer.parseInt(m.group(1)));
            val.add(Double.parseDouble(m.group(3)));
        }
        assertThat(steps).containsExactly(0, 40, 80, 120);
        assertThat(val.get(3)).isLessThan(val.get(0) - 1.0);
        assertThat(train.out()).contains("saved " + model).contains("--- sample ---");
        assertThat(ModelFile.load(model).step()).isEqualTo(120);

        CliRun generate =
                CliRun.of(
                        "generate",
                        "--model",
                        model.toString(),
                        "--prompt",
                        "Thou",
                        "--tokens",
                        "40",
                        "--temperature",
                        "0.8",
                        "--top-k",
                        "5",
                        "--threads",
                        "1");
        assertThat(generate.exit()).as(generate.err()).isZero();
        String text = generate.out().strip();
        assertThat(text).startsWith("Thou");
        assertThat(text.length()).isEqualTo(4 + 40);
    }

    @Test
    void invalidConfigFailsWithOneLineAndExitCode2(@TempDir Path dir) throws Exception {
        CliRun r =
                CliRun.of(
                        "train",
                        "--data",
                        corpus(dir).toString(),
                        "--n-embd",
                        "128",
                        "--n-head",
                        "3");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().strip())
                .isEqualTo(
                        "streamgpt: invalid model config: n-embd (128) must be divisible by n-head"
                                + " (3)");
        assertThat(CliRun.of("train", "--preset", "huge", "--data", corpus(dir).toString()).exit())
                .isEqualTo(2);
        assertThat(CliRun.of("train", "--max-steps", "many").exit()).isEqualTo(2);
        assertThat(CliRun.of("generate", "--model", dir.resolve("missing.bin").toString()).exit())
                .isNotZero();
        CliRun job = CliRun.of("local", "--replicas", "0", "--sync-every", "0");
        assertThat(job.exit()).isEqualTo(2);
        assertThat(job.err().strip())
                .startsWith("streamgpt: invalid job config: ")
                .contains("replicas must be >= 1", "sync-every must be >= 1");
        assertThat(job.out()).doesNotContain("Kafka broker"); // nothing started
    }

    @Test
    void everyCommandHasHelpWithDefaults() {
        CliRun help = CliRun.of("train", "--help");
        assertThat(help.exit()).isZero();
        assertThat(help.out().replaceAll("\\s+", " "))
                .contains("--preset", "Default: cpu", "--max-steps", "Default: 2000");
        assertThat(CliRun.of("generate", "--help").out()).contains("--top-k", "--no-kv-cache");
        assertThat(CliRun.of("bench", "model", "--help").out())
                .contains("--threads", "--pytorch-reference");
    }

    @Test
    void benchModelPrintsOneJsonObjectWithTheAgreedKeys() throws Exception {
        CliRun r =
                CliRun.of(
                        "bench",
                        "model",
                        "--threads",
                        "1",
                        "--steps",
                        "2",
                        "--warmup",
                        "1",
                        "--reference-steps",
                        "0",
                        "--gen-tokens",
                        "4");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertThat(json.get("reference_params").asLong()).isEqualTo(10_788_929L);
        assertThat(json.get("threads").asInt()).isEqualTo(1);
        for (String key :
                List.of(
                        "cpu_ms_per_step",
                        "cpu_tokens_per_s",
                        "gen_tokens_per_s_kv",
                        "gen_tokens_per_s_full",
                        "cpu_gen_tokens_per_s_kv",
                        "cpu_gen_tokens_per_s_full")) {
            assertThat(json.get(key).asDouble()).as(key).isPositive();
        }
    }
}
