package io.streamgpt.cli.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Which BLAS libraries the PyTorch of a Python interpreter has loaded, read from its own {@code
 * /proc/self/maps} after one matrix product. The side-by-side benches compare streamgpt with that
 * PyTorch, and Debian's {@code python3-torch} calls whatever provides {@code libblas.so.3}: where
 * only the reference BLAS (package {@code libblas3}) is installed, its matrix products run many
 * times slower. A 2-rank {@code bench ddp} of the {@code cpu} preset then ran for over 13 minutes,
 * against 168 s with OpenBLAS, and measured the BLAS, not PyTorch. The benches print what was found
 * and warn about the reference BLAS.
 */
record TorchBlas(List<String> libraries) {

    /** Debian's reference BLAS: {@code /usr/lib/<triplet>/blas/libblas.so.3}. */
    private static final Pattern REFERENCE = Pattern.compile("(^|/)blas/libblas\\.so[.0-9]*$");

    private static final String PROBE =
            String.join(
                    "\n",
                    "import torch",
                    "torch.mm(torch.ones(8, 8), torch.ones(8, 8))",
                    "names = ('blas', 'mkl', 'blis', 'lapack')",
                    "try:",
                    "    maps = open('/proc/self/maps').read().splitlines()",
                    "except OSError:",
                    "    maps = []",
                    "paths = {l.split()[-1] for l in maps if len(l.split()) >= 6}",
                    "print('\\n'.join(sorted(p for p in paths"
                            + " if any(n in p.rsplit('/', 1)[-1].lower() for n in names))))");

    /** What {@code python}'s torch loads, or an empty list where that cannot be read. */
    static TorchBlas of(String python) throws IOException, InterruptedException {
        Process process =
                new ProcessBuilder(python, "-c", PROBE)
                        .redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(2, TimeUnit.MINUTES) || process.exitValue() != 0) {
            process.destroyForcibly();
            return new TorchBlas(List.of());
        }
        return new TorchBlas(out.lines().filter(l -> !l.isBlank()).toList());
    }

    /** Whether one of the libraries is the reference BLAS: timings are then not PyTorch's. */
    boolean reference() {
        return libraries.stream().anyMatch(l -> REFERENCE.matcher(l).find());
    }

    /** The libraries, comma-separated, or "unknown". */
    String describe() {
        return libraries.isEmpty() ? "unknown" : String.join(", ", libraries);
    }

    /** The warning a bench prints when {@link #reference()}. */
    String warning() {
        return "warning: PyTorch runs on the reference BLAS ("
                + describe()
                + "), many times slower than OpenBLAS: its timings measure that library; install"
                + " OpenBLAS (Debian: apt-get install libopenblas0-pthread) and run again";
    }
}
