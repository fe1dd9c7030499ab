package io.streamgpt.job.replica;

import io.streamgpt.model.TorchRuntime;

import ai.djl.Device;
import org.apache.flink.api.common.externalresource.ExternalResourceInfo;
import org.junit.jupiter.api.Test;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/** GPU selection, tested on CPU with the resource infos a GPU TaskManager would hand out. */
class GpuAssignmentTest {

    private static ExternalResourceInfo gpu(String index) {
        return new ExternalResourceInfo() {
            @Override
            public Optional<String> getProperty(String key) {
                return Optional.ofNullable(Map.of("index", index).get(key));
            }

            @Override
            public Collection<String> getKeys() {
                return List.of("index");
            }
        };
    }

    @Test
    void theAssignedGpuIsUsed() {
        assertThat(GpuAssignment.of(List.of(gpu("3")), 0)).isEqualTo(OptionalInt.of(3));
        assertThat(GpuAssignment.of(List.of(gpu("2"), gpu("0")), 1)).isEqualTo(OptionalInt.of(2));
        assertThat(TorchRuntime.deviceFor(1, GpuAssignment.of(List.of(gpu("3")), 1), 4))
                .isEqualTo(Device.gpu(3));
    }

    @Test
    void withoutTheResourceReplicasSpreadOverVisibleGpusOrUseTheCpu() {
        OptionalInt none = GpuAssignment.of(List.of(), 5);
        assertThat(none).isEmpty();
        assertThat(TorchRuntime.deviceFor(5, none, 2)).isEqualTo(Device.gpu(1));
        assertThat(TorchRuntime.deviceFor(5, none, 0)).isEqualTo(Device.cpu());
    }
}
