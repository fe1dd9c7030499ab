package io.streamgpt.cli.bench;

import io.streamgpt.cli.Paths;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the original PyTorch code, gpt_reference.py, through {@code docs/reference_driver.py}: the
 * reference's own model, optimizer and generate(), timed step by step after warm-up steps.
 *
 * <p>BLAS threads are pinned to the thread count too: Debian's torch calls OpenBLAS, which
 * otherwise runs its matmuls on every core even after {@code torch.set_num_threads(1)}. The
 * allocator settings that streamgpt's launcher exports (GLIBC_TUNABLES) are not passed on: the
 * reference runs as it ships.
 */
final class PytorchReference {

    /** Hyper-parameters of the cpu preset in the reference's key=value form. */
    static final List<String> CPU_PRESET =
            List.of(
                    "n_layer=4",
                    "n_head=4",
                    "n_embd=128",
                    "block_size=64",
                    "batch_size=12",
                    "dropout=0.0",
                    "learning_rate=1e-3");

    /** The reference preset is the reference's default. */
    static final List<String> REFERENCE_PRESET = List.of();

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String python;
    private final Path script;
    private final Path driver;
    private final Path corpus;

    PytorchReference(String python, Path script, Path corpus) {
        this(python, script, Paths.home().resolve("docs").resolve("reference_driver.py"), corpus);
    }

    PytorchReference(String python, Path script, Path driver, Path corpus) {
        this.python = python;
        this.script = script;
        this.driver = driver;
        this.corpus = corpus;
    }

    /** The BLAS libraries this reference's PyTorch calls ({@link TorchBlas}). */
    TorchBlas blas() throws IOException, InterruptedException {
        return TorchBlas.of(python);
    }

    /**
     * Times {@code steps} training steps after {@code warmup} of the preset given as key=value
     * arguments, then generation of {@code genTokens} tokens (0: none); the driver's summary
     * (ms_per_step and cpu_ms_per_step medians, gen_tokens_per_s, torch version).
     */
    JsonNode run(List<String> preset, int threads, int warmup, int steps, int genTokens)
            throws IOException, InterruptedException {
        if (!Files.isRegularFile(driver)) {
            throw new IOException("reference driver not found: " + driver);
        }
        List<String> command =
                new ArrayList<>(
                        List.of(
                                python,
                                driver.toString(),
                                script.toString(),
                                corpus.toString(),
                                Integer.toString(warmup),
                                Integer.toString(steps),
                                Integer.toString(genTokens),
                                "-"));
        command.addAll(preset);
        command.add("threads=" + threads);
        ProcessBuilder builder =
                new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
        builder.environment().put("OPENBLAS_NUM_THREADS", Integer.toString(threads));
        builder.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        // the reference as it ships: without the allocator settings of streamgpt's launcher
        builder.environment().remove("GLIBC_TUNABLES");
        Process process = builder.start();
        JsonNode summary = null;
        try (BufferedReader lines =
                new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                if (line.startsWith("{\"summary\"")) {
                    summary = JSON.readTree(line);
                }
            }
        }
        int exit = process.waitFor();
        if (exit != 0 || summary == null) {
            throw new IOException(
                    "the PyTorch reference exited with " + exit + " and no summary: " + command);
        }
        return summary;
    }
}
