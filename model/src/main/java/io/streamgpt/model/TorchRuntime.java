package io.streamgpt.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * Process-wide settings of libtorch and the choice of device for a model.
 *
 * <p>Thread counts matter more than anything else on a small machine: oversubscribed cores made
 * steps up to 13x slower here. Intra-op threads are set per process (and per thread that trains),
 * inter-op threads to one, and DJL never goes to the network: libtorch comes from the
 * pytorch-native-cpu jar and is unpacked into a project-local cache.
 */
public final class TorchRuntime {

    private TorchRuntime() {}

    /**
     * Sets the thread counts and offline mode. Call before the first tensor is created; later calls
     * change the intra-op threads of the calling thread.
     */
    public static void configure(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        if (System.getProperty("DJL_CACHE_DIR") == null && System.getenv("DJL_CACHE_DIR") == null) {
            String cache = Path.of(System.getProperty("user.dir"), ".djl").toString();
            System.setProperty("DJL_CACHE_DIR", cache);
            System.setProperty("ENGINE_CACHE_DIR", cache);
        }
        Engine engine = Engine.getEngine("PyTorch"); // loads libtorch with the properties above
        if (JniUtils.getNumThreads() != threads) {
            JniUtils.setNumThreads(threads);
        }
        engine.getVersion();
    }

    /** Intra-op threads libtorch uses now. */
    public static int threads() {
        return JniUtils.getNumThreads();
    }

    /** GPUs libtorch can see (0 with the CPU-only native library). */
    public static int visibleGpus() {
        return Engine.getEngine("PyTorch").getGpuCount();
    }

    /**
     * The device of replica {@code replica}: the GPU that the cluster assigned to it (Flink's GPU
     * external resource) if any, else GPU {@code replica mod gpuCount}, else the CPU.
     */
    public static Device deviceFor(int replica, OptionalInt assignedGpu, int gpuCount) {
        if (replica < 0) {
            throw new IllegalArgumentException("replica index must be >= 0, got " + replica);
        }
        if (gpuCount <= 0) {
            return Device.cpu();
        }
        if (assignedGpu.isPresent()) {
            int gpu = assignedGpu.getAsInt();
            if (gpu < 0 || gpu >= gpuCount) {
                throw new IllegalArgumentException(
                        "assigned GPU " + gpu + " is not among the " + gpuCount + " visible");
            }
            return Device.gpu(gpu);
        }
        return Device.gpu(replica % gpuCount);
    }
}
