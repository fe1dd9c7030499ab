package io.streamgpt.job;

import io.streamgpt.job.sync.OuterOptimizer;
import io.streamgpt.model.GptConfig;

import java.util.List;

/** Small job configs for tests: a tiny model that trains in milliseconds per step. */
public final class TestConfigs {

    public static final GptConfig TINY_MODEL =
            new GptConfig(65, 16, 1, 2, 32, 0.0, 8, 3e-3, 0.01, 0.9, 0.999, 0, 0, 0, 0, 7);

    private TestConfigs() {}

    public static JobConfig job(
            String bootstrap,
            String prefix,
            int replicas,
            int syncEvery,
            JobConfig.SyncMode mode,
            OuterOptimizer outer,
            long maxSteps,
            int runWindows,
            long syncTimeoutMs,
            long checkpointMs,
            String checkpointDir) {
        return job(
                bootstrap,
                prefix,
                replicas,
                syncEvery,
                mode,
                outer,
                maxSteps,
                runWindows,
                syncTimeoutMs,
                checkpointMs,
                checkpointDir,
                "hashmap");
    }

    public static JobConfig job(
            String bootstrap,
            String prefix,
            int replicas,
            int syncEvery,
            JobConfig.SyncMode mode,
            OuterOptimizer outer,
            long maxSteps,
            int runWindows,
            long syncTimeoutMs,
            long checkpointMs,
            String checkpointDir,
            String stateBackend) {
        return new JobConfig(
                TINY_MODEL,
                "shakespeare",
                replicas,
                syncEvery,
                mode,
                outer,
                0.7,
                0.9,
                syncTimeoutMs,
                1000,
                1,
                bootstrap,
                List.of(prefix + "-text"),
                null,
                "earliest",
                prefix,
                prefix + "-model",
                prefix + "-losses",
                prefix + "-samples",
                prefix + "-prompts",
                prefix + "-answers",
                prefix + "-dead-letters",
                32,
                JobConfig.Pacing.CONTINUOUS,
                768,
                maxSteps,
                200_000,
                1 << 20,
                TINY_MODEL.blockSize(),
                runWindows,
                20,
                4,
                50,
                20,
                checkpointMs,
                stateBackend,
                checkpointDir,
                1,
                0);
    }

    /**
     * A config of the cpu preset's shape with the given averager parallelism and chunk size, for
     * topic checks.
     */
    public static JobConfig topics(
            String bootstrap, String prefix, int averagerParallelism, int chunkSize) {
        GptConfig cpu = GptConfig.preset("cpu", 65);
        return new JobConfig(
                cpu,
                "shakespeare",
                2,
                10,
                JobConfig.SyncMode.SYNC,
                OuterOptimizer.AVERAGE,
                0.7,
                0.9,
                10_000,
                chunkSize,
                averagerParallelism,
                bootstrap,
                List.of(prefix + "-text"),
                null,
                "earliest",
                prefix,
                prefix + "-model",
                prefix + "-losses",
                prefix + "-samples",
                prefix + "-prompts",
                prefix + "-answers",
                prefix + "-dead-letters",
                32,
                JobConfig.Pacing.CONTINUOUS,
                768,
                0,
                200_000,
                1 << 20,
                cpu.blockSize(),
                64,
                100,
                20,
                500,
                200,
                0,
                "hashmap",
                "",
                1,
                0);
    }

    public static JobConfig averagerOnly(int replicas, OuterOptimizer outer, long syncTimeoutMs) {
        return job(
                "127.0.0.1:1",
                "unit",
                replicas,
                1,
                JobConfig.SyncMode.SYNC,
                outer,
                0,
                64,
                syncTimeoutMs,
                0,
                "");
    }
}
