package io.streamgpt.model;

import ai.djl.Device;

import java.util.OptionalInt;

/**
 * Where a process's models run: libtorch set up for a number of threads and the device of one
 * replica (its assigned GPU, else GPU {@code replica mod count}, else the CPU). The replicas, the
 * evaluator, the prompt responder and the commands all make their models here.
 *
 * <pre>{@code
 * ModelHost host = ModelHost.forReplica(threads, replica, assignedGpu);
 * try (Gpt model = host.create(shape, training.seed())) { ... }
 * }</pre>
 */
public record ModelHost(Device device) {

    /**
     * libtorch with {@code threads} intra-op threads, and the device of replica {@code replica}.
     */
    public static ModelHost forReplica(int threads, int replica, OptionalInt assignedGpu) {
        TorchRuntime.configure(threads);
        return new ModelHost(
                TorchRuntime.deviceFor(replica, assignedGpu, TorchRuntime.visibleGpus()));
    }

    /** libtorch with {@code threads} threads and the first device: what a command uses. */
    public static ModelHost local(int threads) {
        return forReplica(threads, 0, OptionalInt.empty());
    }

    /** A new model initialised as the reference does, from {@code seed}. */
    public Gpt create(GptConfig shape, long seed) {
        return Gpt.create(shape, seed, device);
    }

    /** A model with the given flat parameter vector. */
    public Gpt load(GptConfig shape, float[] parameters) {
        return Gpt.withParameters(shape, parameters, device);
    }
}
