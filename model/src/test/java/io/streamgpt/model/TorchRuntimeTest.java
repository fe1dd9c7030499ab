package io.streamgpt.model;

import ai.djl.Device;
import org.junit.jupiter.api.Test;

import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Device selection runs on CPU-only machines too: the logic is tested with a claimed GPU count. */
class TorchRuntimeTest {

    @Test
    void replicasSpreadOverGpusRoundRobin() {
        assertThat(TorchRuntime.deviceFor(0, OptionalInt.empty(), 2)).isEqualTo(Device.gpu(0));
        assertThat(TorchRuntime.deviceFor(1, OptionalInt.empty(), 2)).isEqualTo(Device.gpu(1));
        assertThat(TorchRuntime.deviceFor(5, OptionalInt.empty(), 2)).isEqualTo(Device.gpu(1));
    }

    @Test
    void aGpuAssignedByTheClusterWins() {
        assertThat(TorchRuntime.deviceFor(0, OptionalInt.of(3), 4)).isEqualTo(Device.gpu(3));
        assertThatThrownBy(() -> TorchRuntime.deviceFor(0, OptionalInt.of(4), 4))
                .hasMessageContaining("not among the 4");
    }

    @Test
    void withoutGpusEveryReplicaRunsOnTheCpu() {
        assertThat(TorchRuntime.deviceFor(3, OptionalInt.empty(), 0)).isEqualTo(Device.cpu());
        assertThat(TorchRuntime.deviceFor(3, OptionalInt.of(1), 0)).isEqualTo(Device.cpu());
        TorchRuntime.configure(1);
        assertThat(TorchRuntime.visibleGpus()).isZero(); // this build ships the CPU libtorch
    }
}
