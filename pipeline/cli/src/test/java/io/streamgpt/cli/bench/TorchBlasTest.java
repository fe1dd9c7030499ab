package io.streamgpt.cli.bench;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/** Which BLAS the reference's PyTorch calls, so that a bench can say it ran on a slow one. */
class TorchBlasTest {

    @Test
    void debiansReferenceBlasIsToldApartFromOpenBlas() {
        TorchBlas reference =
                new TorchBlas(
                        List.of(
                                "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3",
                                "/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3"));
        TorchBlas openBlas =
                new TorchBlas(
                        List.of(
                                "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
                                "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"));
        assertThat(reference.reference()).isTrue();
        assertThat(reference.warning())
                .contains("/usr/lib/x86_64-linux-gnu/blas/libblas.so.3")
                .contains("libopenblas0-pthread");
        assertThat(openBlas.reference()).isFalse();
        assertThat(new TorchBlas(List.of()).reference()).isFalse();
        assertThat(new TorchBlas(List.of()).describe()).isEqualTo("unknown");
    }

    /**
     * This machine's torch (Debian's python3-torch, which .ci/run installs): the probe names the
     * libraries it maps, among them the file that libblas.so.3 resolves to.
     */
    @Test
    void theProbeNamesTheLibrariesThisMachinesTorchLoads() throws Exception {
        Process probe = new ProcessBuilder("/usr/bin/python3", "-c", "import torch").start();
        assumeThat(probe.waitFor(60, TimeUnit.SECONDS) && probe.exitValue() == 0)
                .as("PyTorch for /usr/bin/python3")
                .isTrue();
        TorchBlas blas = TorchBlas.of("/usr/bin/python3");
        assertThat(blas.libraries())
                .isNotEmpty()
                .allSatisfy(
                        library -> {
                            assertThat(library).startsWith("/");
                            assertThat(Path.of(library).getFileName().toString())
                                    .containsAnyOf("blas", "mkl", "blis", "lapack");
                        });
        Path libblas = Path.of("/usr/lib/x86_64-linux-gnu/libblas.so.3");
        if (Files.exists(libblas)) {
            assertThat(blas.libraries()).contains(libblas.toRealPath().toString());
            assertThat(blas.reference())
                    .isEqualTo(libblas.toRealPath().toString().contains("/blas/libblas"));
        }
    }
}
