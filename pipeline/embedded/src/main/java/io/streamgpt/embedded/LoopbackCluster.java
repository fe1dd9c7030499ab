package io.streamgpt.embedded;

import org.apache.flink.configuration.Configuration;

/**
 * Settings that keep every server of an in-process Flink cluster on 127.0.0.1: REST, the blob
 * server, RPC and data ports. Flink binds the wildcard address by default.
 */
public final class LoopbackCluster {

    private LoopbackCluster() {}

    public static Configuration configuration() {
        Configuration conf = new Configuration();
        conf.setString("rest.bind-address", "127.0.0.1");
        conf.setString("rest.address", "127.0.0.1");
        conf.setString("rest.port", "0");
        conf.setString("jobmanager.bind-host", "127.0.0.1");
        conf.setString("jobmanager.rpc.address", "127.0.0.1");
        conf.setString("taskmanager.bind-host", "127.0.0.1");
        conf.setString("taskmanager.host", "127.0.0.1");
        return conf;
    }
}
