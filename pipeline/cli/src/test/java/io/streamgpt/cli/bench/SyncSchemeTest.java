package io.streamgpt.cli.bench;

import io.streamgpt.connectors.chunks.PayloadEncoding;
import io.streamgpt.job.config.SyncConfig;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code bench sync --schemes}: each name sets one mode and one encoding, and only these six. */
class SyncSchemeTest {

    @ParameterizedTest
    @CsvSource({
        "sync, SYNC, FP32",
        "overlap, OVERLAP, FP32",
        "bf16, SYNC, BF16",
        "int8, SYNC, INT8",
        "overlap-bf16, OVERLAP, BF16",
        "overlap-int8, OVERLAP, INT8"
    })
    void aSchemeNameSetsTheModeAndTheEncoding(
            String name, SyncConfig.Mode mode, PayloadEncoding encoding) {
        SyncConfig sync = SyncBench.scheme(name).apply(SyncConfig.defaults());

        assertThat(sync.mode()).isEqualTo(mode);
        assertThat(sync.encoding()).isEqualTo(encoding);
    }

    @ParameterizedTest
    @ValueSource(strings = {"fp32", "overlap-fp32", "overlap-", "SYNC", "int4", ""})
    void anyOtherNameIsRefusedWithTheListOfNames(String name) {
        assertThatThrownBy(() -> SyncBench.scheme(name))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "unknown sync scheme "
                                + name
                                + ": sync, overlap, bf16, int8, overlap-bf16, overlap-int8");
    }
}
