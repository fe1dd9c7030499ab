package io.streamgpt.cli.bench;

import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Flink metric reporter for benchmarks on a MiniCluster in this JVM: it keeps a reference to
 * every metric of a training replica (the group {@code replica=<i>}), so that the bench reads the
 * replicas' own gauges, counters and histograms when it wants, with no reporting interval. Each
 * cluster names its run ({@code metrics.reporter.NAME.run}); {@link #of} gives that run's metrics.
 */
public final class ReplicaMetricsReporter implements MetricReporter {

    private static final Map<String, Map<Integer, Map<String, Metric>>> RUNS =
            new ConcurrentHashMap<>();

    private Map<Integer, Map<String, Metric>> replicas;

    /** The metrics of run {@code run}: by replica index, by metric name. */
    public static Map<Integer, Map<String, Metric>> of(String run) {
        return RUNS.computeIfAbsent(run, r -> new ConcurrentHashMap<>());
    }

    public static void forget(String run) {
        RUNS.remove(run);
    }

    @Override
    public void open(MetricConfig config) {
        replicas = of(config.getString("run", ""));
    }

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        String replica = group.getAllVariables().get("<replica>");
        if (replica != null) {
            replicas.computeIfAbsent(Integer.parseInt(replica), r -> new ConcurrentHashMap<>())
                    .put(name, metric);
        }
    }

    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {}

    /** What Flink instantiates from {@code metrics.reporter.NAME.factory.class}. */
    public static final class Factory implements MetricReporterFactory {
        @Override
        public MetricReporter createMetricReporter(Properties properties) {
            return new ReplicaMetricsReporter();
        }
    }
}
