package io.streamgpt.cli;

import io.streamgpt.embedded.EmbeddedKafka;
import io.streamgpt.embedded.LoopbackCluster;

import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.InjectClusterRESTAddress;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Exit codes and error lines per command family: a usage error exits 2, a service that is not there
 * or a state of the world (no job running, a port in use) exits 1; both print one line, naming what
 * is unreachable and the option that points elsewhere, and a stack trace only with {@code
 * --verbose}. Kafka and Flink are pointed at ports nothing listens on.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ExitCodesTest {

    /** A Flink cluster with no job: its REST API answers, and there is nothing to stop. */
    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(1)
                            .setConfiguration(LoopbackCluster.configuration())
                            .build());

    private static String closedKafka() throws Exception {
        return "127.0.0.1:" + EmbeddedKafka.freePort();
    }

    private static String closedFlink() throws Exception {
        return "http://127.0.0.1:" + EmbeddedKafka.freePort();
    }

    @Test
    void streamCommandsExit1NamingKafkaAndTheirOption() throws Exception {
        String kafka = closedKafka();
        CliRun local =
                CliRun.of("local", "--bootstrap-servers", kafka, "--preflight-timeout-ms", "1000");
        assertThat(local.exit()).as(local.err()).isEqualTo(1);
        assertThat(local.line())
                .isEqualTo(
                        "cannot reach Kafka at "
                                + kafka
                                + " within 1 s (a secured Kafka needs --kafka-config, see"
                                + " docs/security.md): start it (`streamgpt stack up`) or point"
                                + " --bootstrap-servers elsewhere");

        CliRun usage = CliRun.of("local", "--no-such-option");
        assertThat(usage.exit()).isEqualTo(2);
        assertThat(usage.err()).contains("Unknown option: '--no-such-option'");
        CliRun badValue = CliRun.of("local", "--replicas", "-2");
        assertThat(badValue.exit()).isEqualTo(2);
        assertThat(badValue.line()).contains("replicas must be >= 1, got -2");
    }

    @Test
    void modelCommandsExit1ForAnAbsentKafkaAnd2ForAMissingFile() throws Exception {
        String kafka = closedKafka();
        CliRun generate =
                CliRun.of(
                        "generate",
                        "--bootstrap-servers",
                        kafka,
                        "--prompt",
                        "A",
                        "--timeout",
                        "1");
        assertThat(generate.exit()).as(generate.err()).isEqualTo(1);
        assertThat(generate.line())
                .startsWith("Kafka at " + kafka + " did not answer within 1 s")
                .endsWith("point --bootstrap-servers elsewhere");

        CliRun train = CliRun.of("train", "--data", "/no/such/corpus.txt");
        assertThat(train.exit()).isEqualTo(2);
        assertThat(train.line()).contains("no corpus file /no/such/corpus.txt");
    }

    @Test
    void clusterCommandsExit1ForAnAbsentFlinkAndForNoRunningJob(
            @InjectClusterRESTAddress URI flinkRest) throws Exception {
        String flink = closedFlink();
        for (String command : new String[] {"jobs", "cancel", "stop"}) {
            CliRun r = CliRun.of(command, "--flink", flink);
            assertThat(r.exit()).as(command + ": " + r.err()).isEqualTo(1);
            assertThat(r.line())
                    .as(command)
                    .isEqualTo(
                            "cannot reach Flink's REST API at "
                                    + flink
                                    + "/: start it (`streamgpt stack up`) or point --flink"
                                    + " elsewhere");
        }
        // submit checks Kafka before it talks to Flink: the unreachable one is named
        String kafka = closedKafka();
        CliRun submit =
                CliRun.of(
                        "submit",
                        "--flink",
                        flink,
                        "--bootstrap-servers",
                        kafka,
                        "--preflight-timeout-ms",
                        "1000");
        assertThat(submit.exit()).as(submit.err()).isEqualTo(1);
        assertThat(submit.line())
                .contains("Kafka at " + kafka)
                .endsWith("--bootstrap-servers elsewhere");

        // a cluster that answers but runs no job: a state, exit 1, not a usage error
        String url = "http://127.0.0.1:" + flinkRest.getPort();
        CliRun jobs = CliRun.of("jobs", "--flink", url);
        assertThat(jobs.exit()).as(jobs.err()).isZero();
        assertThat(jobs.out()).isEmpty();
        CliRun cancel = CliRun.of("cancel", "--flink", url);
        assertThat(cancel.exit()).as(cancel.err()).isEqualTo(1);
        assertThat(cancel.line()).isEqualTo("no streamgpt job is running on " + url);
    }

    @Test
    void stackUpExits1WhenItsPortIsTaken(@TempDir Path runDir) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            CliRun r =
                    CliRun.of(
                            "stack",
                            "up",
                            "--run-dir",
                            runDir.toString(),
                            "--kafka-port",
                            String.valueOf(port),
                            "--no-prometheus");
            assertThat(r.exit()).as(r.err()).isEqualTo(1);
            assertThat(r.line())
                    .startsWith("port " + port + " of kafka is in use by another process");
        }
    }

    @Test
    void serveExits1WhenItsPortIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CliRun r = CliRun.of("serve", "--port", String.valueOf(taken.getLocalPort()));
            assertThat(r.exit()).as(r.err()).isEqualTo(1);
            assertThat(r.line()).startsWith("a port is in use").contains("choose another port");
        }
    }

    @Test
    void benchCommandsExit2ForOptionsTheyCannotUse() throws Exception {
        CliRun soak = CliRun.of("bench", "soak", "--bootstrap-servers", closedKafka());
        assertThat(soak.exit()).as(soak.err()).isEqualTo(2);
        assertThat(soak.line()).contains("bench soak runs its own in-process Kafka broker");
        CliRun model = CliRun.of("bench", "model", "--data", "/no/such/corpus.txt", "--steps", "1");
        assertThat(model.exit()).as(model.err()).isEqualTo(2);
        assertThat(model.line()).isEqualTo("no file /no/such/corpus.txt");
    }

    @Test
    void verboseAddsTheStackTraceOnTheCommandOrBeforeIt() throws Exception {
        String flink = closedFlink();
        for (String[] args :
                new String[][] {
                    {"--verbose", "jobs", "--flink", flink}, {"jobs", "--flink", flink, "--verbose"}
                }) {
            CliRun r = CliRun.of(args);
            assertThat(r.exit()).isEqualTo(1);
            assertThat(r.err())
                    .startsWith("streamgpt: cannot reach Flink's REST API at " + flink)
                    .contains("java.io.IOException: cannot reach Flink's REST API", "\tat ");
        }
    }
}
