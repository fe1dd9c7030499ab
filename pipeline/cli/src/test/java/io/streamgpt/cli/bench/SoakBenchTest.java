package io.streamgpt.cli.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The soak benchmark's arithmetic; the run itself is not part of the suite (it takes minutes). */
class SoakBenchTest {

    private static SoakBench.Sample sample(
            double seconds, double rss, long checkpointBytes, long step, Float valLoss) {
        return new SoakBench.Sample(
                seconds,
                rss,
                100,
                200,
                0,
                step / 100,
                0,
                checkpointBytes,
                900 + step,
                step,
                step * 10,
                valLoss == null ? null : valLoss + 0.1f,
                valLoss);
    }

    @Test
    void summaryComparesMemoryAfterWarmupWithTheEnd() {
        ObjectNode summary =
                SoakBench.summary(
                        List.of(
                                sample(10, 900, 0, 0, null),
                                sample(20, 1000, 30_000, 100, 3.0f),
                                sample(30, 1010, 31_000, 200, 2.5f),
                                sample(40, 1050, 30_500, 300, 2.2f)),
                        15);
        assertThat(summary.get("warmup_seconds").asDouble()).isEqualTo(20);
        assertThat(summary.get("rss_mb_after_warmup").asDouble()).isEqualTo(1000);
        assertThat(summary.get("rss_mb_end").asDouble()).isEqualTo(1050);
        assertThat(summary.get("rss_change_pct").asDouble()).isEqualTo(5.0);
        assertThat(summary.get("rss_minus_heap_mb_after_warmup").asDouble()).isEqualTo(800);
        assertThat(summary.get("rss_minus_heap_change_pct").asDouble())
                .isEqualTo(6.3); // 800 -> 850
        assertThat(summary.get("checkpoint_bytes_max").asLong()).isEqualTo(31_000);
        assertThat(summary.get("checkpoint_ms_max").asLong()).isEqualTo(1200);
        assertThat(summary.get("steps").asLong()).isEqualTo(300);
        assertThat(summary.get("loss_start_step").asLong()).isEqualTo(100);
        assertThat(summary.get("val_loss_start").floatValue()).isEqualTo(3.0f);
        assertThat(summary.get("val_loss_end").floatValue()).isEqualTo(2.2f);
    }

    @Test
    void residentMemoryComesFromProcStatus() {
        assertThat(
                        SoakBench.rssKilobytes(
                                List.of("Name:\tjava", "VmPeak:\t 9000 kB", "VmRSS:\t  123456 kB")))
                .isEqualTo(123456);
        assertThat(SoakBench.rssKilobytes(List.of("Name:\tjava"))).isZero();
    }
}
