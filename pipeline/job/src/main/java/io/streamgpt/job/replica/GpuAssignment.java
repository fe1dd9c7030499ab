package io.streamgpt.job.replica;

import org.apache.flink.api.common.externalresource.ExternalResourceInfo;

import java.util.Collection;
import java.util.List;
import java.util.OptionalInt;

/**
 * The GPU Flink assigned to a subtask through its GPU external resource ({@code external-resources:
 * gpu} with the GPU driver), if any. Several GPUs per slot: subtask i takes the (i mod count)-th of
 * them.
 */
public final class GpuAssignment {

    static final String RESOURCE_NAME = "gpu";

    private GpuAssignment() {}

    static OptionalInt of(Collection<ExternalResourceInfo> gpus, int subtask) {
        List<Integer> indices =
                gpus.stream()
                        .map(info -> info.getProperty("index"))
                        .filter(java.util.Optional::isPresent)
                        .map(index -> Integer.parseInt(index.get().trim()))
                        .sorted()
                        .toList();
        return indices.isEmpty()
                ? OptionalInt.empty()
                : OptionalInt.of(indices.get(subtask % indices.size()));
    }
}
