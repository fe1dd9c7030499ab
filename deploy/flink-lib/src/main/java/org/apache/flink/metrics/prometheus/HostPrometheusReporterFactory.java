package org.apache.flink.metrics.prometheus;

import io.prometheus.client.exporter.HTTPServer;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.apache.flink.util.PortRange;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Iterator;
import java.util.Properties;

/**
 * Flink's Prometheus reporter with a {@code host} option: the stock factory binds every interface,
 * and streamgpt binds 127.0.0.1 unless told otherwise.
 *
 * <pre>
 * metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.HostPrometheusReporterFactory
 * metrics.reporter.prom.host: 127.0.0.1      # default 127.0.0.1; 0.0.0.0 for a real cluster
 * metrics.reporter.prom.port: 9249-9259
 * </pre>
 *
 * It lives in Flink's package because the reporter's collector registry is package-private.
 */
public class HostPrometheusReporterFactory implements MetricReporterFactory {

    @Override
    public AbstractPrometheusReporter createMetricReporter(Properties properties) {
        MetricConfig config = (MetricConfig) properties;
        return new HostPrometheusReporter(
                config.getString("host", "127.0.0.1"),
                new PortRange(config.getString("port", "9249")));
    }

    /** Serves the registry over HTTP on the first free port of the range, on one host address. */
    static final class HostPrometheusReporter extends AbstractPrometheusReporter {
        private final HTTPServer server;

        HostPrometheusReporter(String host, PortRange ports) {
            HTTPServer started = null;
            Iterator<Integer> candidates = ports.getPortsIterator();
            while (started == null && candidates.hasNext()) {
                int port = candidates.next();
                try {
                    started = new HTTPServer(new InetSocketAddress(host, port), registry);
                    log.info("Prometheus reporter serving on {}:{}", host, port);
                } catch (IOException e) { // taken: try the next port
                    log.debug("port {}:{} unavailable", host, port, e);
                }
            }
            if (started == null) {
                throw new IllegalStateException(
                        "no free port for the Prometheus reporter on " + host + " in " + ports);
            }
            server = started;
        }

        @Override
        public void close() {
            server.stop();
            super.close();
        }
    }
}
