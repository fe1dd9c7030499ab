package io.streamgpt.cli;

import io.streamgpt.connectors.KafkaStreams;
import io.streamgpt.pipeline.Reports;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Prints the generated samples of the samples topic. */
@Command(name = "samples", mixinStandardHelpOptions = true, description = "Print the samples the job generated.")
final class SamplesCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--topic", defaultValue = "streamgpt-samples", description = "Samples topic. Default: ${DEFAULT-VALUE}.")
    String topic;

    @Option(names = "--bootstrap-servers", defaultValue = "127.0.0.1:9092", description = "Kafka bootstrap servers. Default: ${DEFAULT-VALUE}.")
    String bootstrapServers;

    @Option(names = "--last", defaultValue = "5", description = "How many of the newest samples to print. Default: ${DEFAULT-VALUE}.")
    int last;

    @Option(names = "--follow", description = "Keep printing new samples until interrupted.")
    boolean follow;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (KafkaConsumer<String, String> consumer = KafkaStreams.textConsumer(bootstrapServers, "streamgpt-samples")) {
            consumer.subscribe(List.of(topic));
            Deque<Reports.SampleRecord> newest = new ArrayDeque<>();
            int emptyPolls = 0;
            while (emptyPolls < 3) { // read what the topic holds
                var records = consumer.poll(Duration.ofSeconds(1));
                emptyPolls = records.isEmpty() ? emptyPolls + 1 : 0;
                for (ConsumerRecord<String, String> r : records) {
                    newest.addLast(Reports.fromJson(r.value(), Reports.SampleRecord.class));
                    if (newest.size() > last) {
                        newest.removeFirst();
                    }
                }
            }
            newest.forEach(s -> print(out, s));
            while (follow && !Thread.currentThread().isInterrupted()) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofSeconds(1))) {
                    print(out, Reports.fromJson(r.value(), Reports.SampleRecord.class));
                }
            }
        }
        return 0;
    }

    private static void print(PrintWriter out, Reports.SampleRecord sample) {
        out.printf("--- step %d (round %d) ---%n%s%n", sample.step(), sample.round(), sample.text());
        out.flush();
    }
}
